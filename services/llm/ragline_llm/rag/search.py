"""Similarity search in a vector table, always scoped to one tenant, with metadata filters.

The tenant filter is part of every query (never optional) — and row-level security enforces it
again: ``conn`` must be in the tenant's scope (:func:`ragline_llm.db.tenant_scope`). The HNSW
scan is iterative (pgvector 0.8 ``hnsw.iterative_scan``, set per connection by
:mod:`ragline_llm.db`): with a filter that most neighbours fail, the index keeps scanning instead
of returning fewer rows than asked for.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from ragline_llm.rag.index import VectorTable, vector_literal


@dataclass(frozen=True)
class Hit:
    """One retrieved chunk."""

    doc_id: str
    kind: str
    title: str
    content: str
    metadata: dict[str, Any]
    score: float


@dataclass(frozen=True)
class SearchFilter:
    """Metadata conditions every hit must meet."""

    kinds: Sequence[str] = ()
    dietary: Sequence[str] = ()
    category: str | None = None
    max_price_cents: int | None = None
    available_only: bool = False


@dataclass(frozen=True)
class SearchOptions:
    """How many hits, and how similar at least."""

    limit: int = 8
    min_score: float = 0.0


def _where(filters: SearchFilter, params: dict[str, Any]) -> str:
    conditions = ["tenant_id = :tenant"]
    if filters.kinds:
        conditions.append("kind = ANY(:kinds)")
        params["kinds"] = list(filters.kinds)
    if filters.dietary:
        conditions.append("metadata -> 'dietary' @> CAST(:dietary AS jsonb)")
        params["dietary"] = json.dumps(sorted({tag.lower() for tag in filters.dietary}))
    if filters.category is not None:
        conditions.append("lower(metadata ->> 'category') = lower(:category)")
        params["category"] = filters.category
    if filters.max_price_cents is not None:
        conditions.append("(metadata ->> 'price_cents')::bigint <= :max_price")
        params["max_price"] = filters.max_price_cents
    if filters.available_only:
        conditions.append("coalesce((metadata ->> 'available')::boolean, true)")
    return " AND ".join(conditions)


async def search(
    conn: AsyncConnection,
    table: VectorTable,
    *,
    tenant_id: str,
    vector: Sequence[float],
    filters: SearchFilter,
    options: SearchOptions,
) -> list[Hit]:
    """Return the tenant's chunks nearest to ``vector`` (best first), above ``min_score``."""
    params: dict[str, Any] = {
        "tenant": tenant_id,
        "q": vector_literal(vector),
        "limit": options.limit,
    }
    query = text(
        "SELECT doc_id, kind, title, content, metadata,"  # noqa: S608 - identifiers are validated names
        " 1 - (embedding <=> CAST(:q AS vector)) AS score"
        f" FROM {table.name} WHERE {_where(filters, params)}"
        " ORDER BY embedding <=> CAST(:q AS vector) LIMIT :limit"
    )
    rows = (await conn.execute(query, params)).all()
    hits = [
        Hit(
            doc_id=row.doc_id,
            kind=row.kind,
            title=row.title,
            content=row.content,
            metadata=dict(row.metadata),
            score=float(row.score),
        )
        for row in rows
    ]
    # relaxed_order may return neighbours slightly out of order.
    hits.sort(key=lambda hit: (-hit.score, hit.doc_id))
    return [hit for hit in hits if hit.score >= options.min_score]
