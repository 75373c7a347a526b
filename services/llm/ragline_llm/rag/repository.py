"""SQL over ``llm_documents`` and ``llm_promotions``; every query names its tenant.

Ingestion writes through SQLAlchemy; the reads the tools make during a chat run on the chat's
:class:`~ragline_common.db.TenantSession` driver connection.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Collection, Sequence
from dataclasses import dataclass

from pydantic import TypeAdapter
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from ragline_common.db import TenantSession
from ragline_llm.rag.documents import DocumentIn
from ragline_llm.tools.promos import MenuItem, Promotion

_PROMOTIONS: TypeAdapter[Promotion] = TypeAdapter(Promotion)


@dataclass(frozen=True)
class MenuEntry:
    """A menu item with what ordering needs beyond pricing."""

    item: MenuItem
    product_id: uuid.UUID | None


async def upsert_documents(
    conn: AsyncConnection, *, tenant_id: str, documents: Sequence[DocumentIn], origin: str
) -> int:
    """Insert or replace ``documents``; return how many were new or changed (others untouched)."""
    if not documents:
        return 0
    stored = {
        row.doc_id: (row.content_hash, row.origin)
        for row in await conn.execute(
            text(
                "SELECT doc_id, content_hash, origin FROM llm_documents"
                " WHERE tenant_id = :t AND doc_id = ANY(:ids)"
            ),
            {"t": tenant_id, "ids": [doc.id for doc in documents]},
        )
    }
    # The last copy of a repeated id wins, as it would row by row.
    latest = {doc.id: doc for doc in documents}
    changed = [doc for doc in latest.values() if stored.get(doc.id) != (doc.content_hash(), origin)]
    if not changed:
        return 0
    await conn.execute(
        text(
            "INSERT INTO llm_documents (tenant_id, doc_id, kind, title, body, metadata, origin,"
            " content_hash, updated_at) VALUES (:tenant_id, :doc_id, :kind, :title, :body,"
            " CAST(:metadata AS jsonb), :origin, :content_hash, now())"
            " ON CONFLICT (tenant_id, doc_id) DO UPDATE SET kind = EXCLUDED.kind,"
            " title = EXCLUDED.title, body = EXCLUDED.body, metadata = EXCLUDED.metadata,"
            " origin = EXCLUDED.origin, content_hash = EXCLUDED.content_hash, updated_at = now()"
        ),
        [
            {
                "tenant_id": tenant_id,
                "doc_id": doc.id,
                "kind": doc.kind.value,
                "title": doc.title,
                "body": doc.body,
                "metadata": json.dumps(doc.metadata, sort_keys=True),
                "origin": origin,
                "content_hash": doc.content_hash(),
            }
            for doc in changed
        ],
    )
    return len(changed)


async def upsert_promotions(
    conn: AsyncConnection, *, tenant_id: str, promotions: Sequence[Promotion], origin: str
) -> int:
    """Insert or replace ``promotions``; return how many were written."""
    if not promotions:
        return 0
    await conn.execute(
        text(
            "INSERT INTO llm_promotions (tenant_id, promo_id, spec, origin, updated_at)"
            " VALUES (:tenant_id, :promo_id, CAST(:spec AS jsonb), :origin, now())"
            " ON CONFLICT (tenant_id, promo_id) DO UPDATE SET spec = EXCLUDED.spec,"
            " origin = EXCLUDED.origin, updated_at = now()"
        ),
        [
            {
                "tenant_id": tenant_id,
                "promo_id": promo.id,
                "spec": promo.model_dump_json(),
                "origin": origin,
            }
            for promo in promotions
        ],
    )
    return len(promotions)


async def delete_missing_sources(
    conn: AsyncConnection,
    *,
    keep_documents: Collection[tuple[str, str]],
    keep_promotions: Collection[tuple[str, str]],
) -> int:
    """Delete source-ingested documents and promotions no longer in the sources."""
    removed = 0
    for table, column, keep in (
        ("llm_documents", "doc_id", keep_documents),
        ("llm_promotions", "promo_id", keep_promotions),
    ):
        result = await conn.execute(
            text(
                f"DELETE FROM {table} WHERE origin = 'source' AND NOT ((tenant_id, {column}) IN"  # noqa: S608 - identifiers are validated names
                " (SELECT * FROM unnest(CAST(:tenants AS text[]), CAST(:ids AS text[]))))"
            ),
            {"tenants": [t for t, _ in keep], "ids": [i for _, i in keep]},
        )
        removed += int(result.rowcount or 0)
    return removed


async def promotions(session: TenantSession) -> list[Promotion]:
    """The session's tenant's promotions, by id."""
    driver = await session.driver()
    rows = await driver.fetch(
        "SELECT spec FROM llm_promotions WHERE tenant_id = $1 ORDER BY promo_id",
        session.tenant_id,
    )
    return [_PROMOTIONS.validate_python(row["spec"]) for row in rows]


async def menu(session: TenantSession, *, skus: Collection[str]) -> dict[str, MenuEntry]:
    """The session's tenant's menu items with these SKUs, by SKU."""
    driver = await session.driver()
    rows = await driver.fetch(
        "SELECT title, metadata FROM llm_documents WHERE tenant_id = $1 AND kind = 'menu'"
        " AND metadata ->> 'sku' = ANY(CAST($2 AS text[]))",
        session.tenant_id,
        sorted(skus),
    )
    entries: dict[str, MenuEntry] = {}
    for row in rows:
        meta = row["metadata"]
        product = meta.get("product_id")
        entries[meta["sku"]] = MenuEntry(
            item=MenuItem(
                sku=meta["sku"],
                name=row["title"],
                price_cents=int(meta["price_cents"]),
                currency=meta.get("currency", "EUR"),
                category=meta.get("category"),
                available=bool(meta.get("available", True)),
            ),
            product_id=uuid.UUID(product) if product else None,
        )
    return entries
