"""Similarity search in a vector table, always scoped to one tenant, with metadata filters.

The tenant filter is part of every query (never optional) — and row-level security enforces it
again: the query runs in the tenant's :class:`~ragline_common.db.TenantSession`, on its driver
connection (a search is on every chat's path; SQLAlchemy's per-statement cost is not). The HNSW
scan is iterative (pgvector 0.8 ``hnsw.iterative_scan``, set per connection by
:mod:`ragline_llm.db`): with a filter that most neighbours fail, the index keeps scanning instead
of returning fewer rows than asked for.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from ragline_common.db import TenantSession
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


class _Arguments:
    """Positional query arguments; :meth:`add` returns the placeholder of the one it adds."""

    def __init__(self) -> None:
        self.values: list[Any] = []

    def add(self, value: Any) -> str:
        self.values.append(value)
        return f"${len(self.values)}"


def _where(filters: SearchFilter, args: _Arguments, *, tenant_id: str) -> str:
    conditions = [f"tenant_id = {args.add(tenant_id)}"]
    if filters.kinds:
        conditions.append(f"kind = ANY(CAST({args.add(list(filters.kinds))} AS text[]))")
    if filters.dietary:
        dietary = json.dumps(sorted({tag.lower() for tag in filters.dietary}))
        conditions.append(f"metadata -> 'dietary' @> CAST({args.add(dietary)} AS jsonb)")
    if filters.category is not None:
        conditions.append(f"lower(metadata ->> 'category') = lower({args.add(filters.category)})")
    if filters.max_price_cents is not None:
        price = args.add(filters.max_price_cents)
        conditions.append(f"(metadata ->> 'price_cents')::bigint <= CAST({price} AS bigint)")
    if filters.available_only:
        conditions.append("coalesce((metadata ->> 'available')::boolean, true)")
    return " AND ".join(conditions)


async def search(
    session: TenantSession,
    table: VectorTable,
    *,
    vector: Sequence[float],
    filters: SearchFilter,
    options: SearchOptions,
) -> list[Hit]:
    """Return the session's tenant's chunks nearest to ``vector`` (best first), above
    ``min_score``."""
    args = _Arguments()
    query_vector = args.add(vector_literal(vector))
    where = _where(filters, args, tenant_id=session.tenant_id)
    query = (
        "SELECT doc_id, kind, title, content, metadata,"  # noqa: S608 - identifiers are validated names
        f" 1 - (embedding <=> CAST({query_vector} AS vector)) AS score"
        f" FROM {table.name} WHERE {where}"
        f" ORDER BY embedding <=> CAST({query_vector} AS vector) LIMIT {args.add(options.limit)}"
    )
    driver = await session.driver()
    rows = await driver.fetch(query, *args.values)
    hits = [
        Hit(
            doc_id=row["doc_id"],
            kind=row["kind"],
            title=row["title"],
            content=row["content"],
            metadata=dict(row["metadata"]),
            score=float(row["score"]),
        )
        for row in rows
    ]
    # relaxed_order may return neighbours slightly out of order.
    hits.sort(key=lambda hit: (-hit.score, hit.doc_id))
    return [hit for hit in hits if hit.score >= options.min_score]
