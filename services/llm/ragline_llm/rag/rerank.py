"""Business re-ranking of menu hits: similarity first, then what the restaurant wants shown.

Pure and deterministic. One hit per menu item (its best chunk). The score is the similarity plus
small boosts — an item on promotion, an item matching every dietary wish — and a large penalty
for an unavailable item, which therefore sinks below every available one instead of vanishing
(the assistant can still say it is sold out). Ties break on the SKU.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass, replace

from ragline_llm.rag.search import Hit

PROMOTION_BOOST = 0.05
DIETARY_BOOST = 0.05
UNAVAILABLE_PENALTY = 1.0


@dataclass(frozen=True)
class RankedItem:
    """A menu item as the tool reports it."""

    hit: Hit
    score: float
    on_promotion: bool
    available: bool


def best_per_document(hits: Sequence[Hit]) -> list[Hit]:
    """Keep each document's best hit, in order of score."""
    best: dict[str, Hit] = {}
    for hit in hits:
        if hit.doc_id not in best or hit.score > best[hit.doc_id].score:
            best[hit.doc_id] = hit
    return sorted(best.values(), key=lambda hit: (-hit.score, hit.doc_id))


def rerank(
    hits: Sequence[Hit],
    *,
    promoted_skus: Collection[str],
    dietary: Collection[str] = (),
    limit: int,
) -> list[RankedItem]:
    """Re-rank menu hits (see the module doc) and keep ``limit`` of them."""
    wanted = {tag.lower() for tag in dietary}
    ranked = []
    for hit in best_per_document(hits):
        sku = str(hit.metadata.get("sku", ""))
        available = bool(hit.metadata.get("available", True))
        tags = {str(tag).lower() for tag in hit.metadata.get("dietary", [])}
        on_promotion = sku in promoted_skus
        score = hit.score
        score += PROMOTION_BOOST if on_promotion else 0.0
        score += DIETARY_BOOST if wanted and wanted <= tags else 0.0
        score -= 0.0 if available else UNAVAILABLE_PENALTY
        ranked.append(
            RankedItem(
                hit=replace(hit), score=score, on_promotion=on_promotion, available=available
            )
        )
    ranked.sort(key=lambda item: (-item.score, str(item.hit.metadata.get("sku", ""))))
    return ranked[:limit]
