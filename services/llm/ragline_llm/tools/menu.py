"""``retrieve_menu``: vector search of the tenant's menu, filtered, then re-ranked."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from ragline_common.db import TenantSession
from ragline_llm.rag import repository
from ragline_llm.rag.rerank import rerank
from ragline_llm.rag.search import SearchFilter, SearchOptions
from ragline_llm.rag.store import KnowledgeStore
from ragline_llm.tools.promos import AmountOffOrder, BuyXGetY, PercentOff
from ragline_llm.tools.specs import RetrieveMenuArgs

# Candidates fetched per wanted result: re-ranking needs some to choose from, and one item may
# have several chunks.
CANDIDATES_PER_RESULT = 4


async def _promoted_skus(session: TenantSession, *, now: datetime) -> set[str]:
    rules = await repository.promotions(session)
    skus: set[str] = set()
    categories: set[str] = set()
    for rule in rules:
        if not rule.active(now) or isinstance(rule, AmountOffOrder):
            continue
        if isinstance(rule, BuyXGetY):
            skus.add(rule.sku)
        elif isinstance(rule, PercentOff):
            skus.update(rule.skus)
            if rule.category is not None:
                categories.add(rule.category)
    return skus | {f"category:{category}" for category in categories}


async def retrieve_menu(
    store: KnowledgeStore,
    session: TenantSession,
    args: RetrieveMenuArgs,
    *,
    now: datetime,
    min_score: float,
) -> dict[str, Any]:
    """Return the best menu items for ``args`` as the model sees them."""
    hits = await store.retrieve(
        session,
        args.query,
        filters=SearchFilter(
            kinds=("menu",),
            dietary=tuple(args.dietary),
            category=args.category,
            max_price_cents=args.max_price_cents,
        ),
        options=SearchOptions(limit=args.limit * CANDIDATES_PER_RESULT, min_score=min_score),
    )
    promoted = await _promoted_skus(session, now=now)
    promoted_skus = {
        str(hit.metadata.get("sku"))
        for hit in hits
        if hit.metadata.get("sku") in promoted
        or f"category:{hit.metadata.get('category')}" in promoted
    }
    ranked = rerank(hits, promoted_skus=promoted_skus, dietary=args.dietary, limit=args.limit)
    return {
        "items": [
            {
                "sku": item.hit.metadata.get("sku"),
                "name": item.hit.title,
                "description": item.hit.content,
                "price_cents": item.hit.metadata.get("price_cents"),
                "currency": item.hit.metadata.get("currency", "EUR"),
                "dietary": item.hit.metadata.get("dietary", []),
                "category": item.hit.metadata.get("category"),
                "available": item.available,
                "on_promotion": item.on_promotion,
                "score": round(item.score, 4),
            }
            for item in ranked
        ]
    }
