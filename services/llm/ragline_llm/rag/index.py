"""Vector tables: one per embedding, created, filled from ``llm_documents`` and indexed.

A table is named after its embedding (``rag_chunks_<digest>``) and registered in
``llm_vector_tables`` with its spec and status (``building`` → ``ready``). :func:`sync_table`
brings a table in line with the documents by content hash: chunks of changed or deleted
documents go, documents without current chunks are chunked and embedded. It is a diff, so it is
cheap when nothing changed, safe to repeat after a crash, and serialised per table by an advisory
lock, so replicas and the ingestion Job can run it at once.

Chunk tables are under row-level security like every tenant table (``ragline_llm_protect``,
migration ``llm0002``): requests read them in a tenant scope as ``ragline_app``; the sync, which
spans tenants, runs as the owner with :func:`~ragline_llm.db.all_tenants`.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from ragline_llm.db import APP_ROLE, all_tenants
from ragline_llm.metrics import LlmMetrics
from ragline_llm.providers.embeddings import Embedder, EmbeddingSpec
from ragline_llm.rag.chunking import ChunkingPolicy, chunk_text
from ragline_llm.settings import VECTOR_TABLE_PATTERN, IndexType

# Documents embedded per transaction: small enough that a failure loses little work.
SYNC_BATCH_DOCUMENTS = 16
# A sync never loops forever, even if documents keep changing under it.
MAX_SYNC_BATCHES = 100_000


@dataclass(frozen=True)
class VectorTable:
    """A chunk table and the embedding that fills it."""

    name: str
    spec: EmbeddingSpec

    def __post_init__(self) -> None:
        if not re.fullmatch(VECTOR_TABLE_PATTERN, self.name):
            raise ValueError(f"invalid vector table name {self.name!r}")


@dataclass(frozen=True)
class IndexOptions:
    """How the table's vector index is built."""

    type: IndexType = IndexType.HNSW
    m: int = 16
    ef_construction: int = 128
    lists: int = 100


@dataclass(frozen=True)
class SyncResult:
    """What a sync changed."""

    documents: int
    chunks: int
    removed_chunks: int


def vector_literal(vector: Sequence[float]) -> str:
    """pgvector's text form of ``vector``."""
    return "[" + ",".join(f"{value:.7g}" for value in vector) + "]"


async def ensure_table(conn: AsyncConnection, table: VectorTable) -> None:
    """Create and register ``table`` unless it exists; refuse a name taken by another spec."""
    spec = table.spec
    # Replicas starting together create the table and its policies one after the other (CREATE
    # POLICY has no IF NOT EXISTS). The sync's lock, released at commit.
    await conn.execute(text("SELECT pg_advisory_xact_lock(hashtext(:n))"), {"n": table.name})
    await conn.execute(
        text(
            "INSERT INTO llm_vector_tables (table_name, provider, model, dimensions, status) "
            "VALUES (:name, :provider, :model, :dimensions, 'building') "
            "ON CONFLICT (table_name) DO NOTHING"
        ),
        {
            "name": table.name,
            "provider": spec.provider,
            "model": spec.model,
            "dimensions": spec.dimensions,
        },
    )
    row = (
        await conn.execute(
            text("SELECT provider, model, dimensions FROM llm_vector_tables WHERE table_name = :n"),
            {"n": table.name},
        )
    ).one()
    if (row.provider, row.model, row.dimensions) != (spec.provider, spec.model, spec.dimensions):
        raise ValueError(f"vector table {table.name} holds another embedding ({row.model})")
    await conn.execute(
        text(
            f"CREATE TABLE IF NOT EXISTS {table.name} ("
            " tenant_id text NOT NULL, doc_id text NOT NULL, chunk_no integer NOT NULL,"
            " kind text NOT NULL, title text NOT NULL, content text NOT NULL,"
            " metadata jsonb NOT NULL, content_hash text NOT NULL,"
            f" embedding vector({int(spec.dimensions)}) NOT NULL,"
            " PRIMARY KEY (tenant_id, doc_id, chunk_no))"
        )
    )
    await conn.execute(text("SELECT ragline_llm_protect(CAST(:n AS regclass))"), {"n": table.name})
    await conn.execute(text(f"GRANT SELECT ON {table.name} TO {APP_ROLE}"))


async def ensure_index(conn: AsyncConnection, table: VectorTable, options: IndexOptions) -> None:
    """Create the table's cosine-distance index unless it exists."""
    if options.type is IndexType.HNSW:
        method = (
            f"hnsw (embedding vector_cosine_ops) "
            f"WITH (m = {int(options.m)}, ef_construction = {int(options.ef_construction)})"
        )
    else:
        method = f"ivfflat (embedding vector_cosine_ops) WITH (lists = {int(options.lists)})"
    await conn.execute(
        text(
            f"CREATE INDEX IF NOT EXISTS {table.name}_embedding_idx ON {table.name} USING {method}"
        )
    )


async def mark_ready(conn: AsyncConnection, table: VectorTable) -> None:
    """Record that ``table`` is complete."""
    await conn.execute(
        text(
            "UPDATE llm_vector_tables SET status = 'ready', completed_at = now() "
            "WHERE table_name = :n AND status <> 'ready'"
        ),
        {"n": table.name},
    )


async def table_status(conn: AsyncConnection, name: str) -> str | None:
    """``building``, ``ready``, or None for an unknown table."""
    status: str | None = (
        await conn.execute(
            text("SELECT status FROM llm_vector_tables WHERE table_name = :n"), {"n": name}
        )
    ).scalar()
    return status


async def latest_ready(conn: AsyncConnection, *, exclude: str) -> VectorTable | None:
    """The most recently completed table other than ``exclude``."""
    row = (
        await conn.execute(
            text(
                "SELECT table_name, provider, model, dimensions FROM llm_vector_tables "
                "WHERE status = 'ready' AND table_name <> :x "
                "ORDER BY completed_at DESC LIMIT 1"
            ),
            {"x": exclude},
        )
    ).first()
    if row is None:
        return None
    return VectorTable(row.table_name, EmbeddingSpec(row.provider, row.model, row.dimensions))


async def count_rows(conn: AsyncConnection, table: VectorTable) -> tuple[int, int]:
    """Return (documents, chunks) in ``table``, every tenant's."""
    await all_tenants(conn)
    row = (
        await conn.execute(
            text(
                "SELECT count(DISTINCT (tenant_id, doc_id)) AS docs, count(*) AS chunks "  # noqa: S608 - identifiers are validated names
                f"FROM {table.name}"
            )
        )
    ).one()
    return int(row.docs), int(row.chunks)


async def _remove_stale(conn: AsyncConnection, table: VectorTable) -> int:
    result = await conn.execute(
        text(
            f"DELETE FROM {table.name} c WHERE NOT EXISTS (SELECT 1 FROM llm_documents d "  # noqa: S608 - identifiers are validated names
            "WHERE d.tenant_id = c.tenant_id AND d.doc_id = c.doc_id "
            "AND d.content_hash = c.content_hash)"
        )
    )
    return int(result.rowcount or 0)


async def _pending(conn: AsyncConnection, table: VectorTable) -> list[Any]:
    result = await conn.execute(
        text(
            "SELECT d.tenant_id, d.doc_id, d.kind, d.title, d.body, d.metadata, d.content_hash "  # noqa: S608 - identifiers are validated names
            "FROM llm_documents d WHERE NOT EXISTS ("
            f" SELECT 1 FROM {table.name} c WHERE c.tenant_id = d.tenant_id"
            " AND c.doc_id = d.doc_id AND c.chunk_no = 0 AND c.content_hash = d.content_hash)"
            " ORDER BY d.tenant_id, d.doc_id LIMIT :n"
        ),
        {"n": SYNC_BATCH_DOCUMENTS},
    )
    return list(result)


async def _write_batch(
    conn: AsyncConnection,
    table: VectorTable,
    docs: list[Any],
    *,
    embedder: Embedder,
    policy: ChunkingPolicy,
) -> int:
    rows: list[dict[str, Any]] = []
    for doc in docs:
        for number, content in enumerate(chunk_text(doc.title, doc.body, policy)):
            rows.append(
                {
                    "tenant_id": doc.tenant_id,
                    "doc_id": doc.doc_id,
                    "chunk_no": number,
                    "kind": doc.kind,
                    "title": doc.title,
                    "content": content,
                    "metadata": json.dumps(doc.metadata),
                    "content_hash": doc.content_hash,
                }
            )
    vectors = await embedder.embed([row["content"] for row in rows])
    for row, vector in zip(rows, vectors, strict=True):
        row["embedding"] = vector_literal(vector)
    await conn.execute(
        text(f"DELETE FROM {table.name} WHERE tenant_id = :tenant_id AND doc_id = :doc_id"),  # noqa: S608 - identifiers are validated names
        [{"tenant_id": doc.tenant_id, "doc_id": doc.doc_id} for doc in docs],
    )
    await conn.execute(
        text(
            f"INSERT INTO {table.name} (tenant_id, doc_id, chunk_no, kind, title, content,"  # noqa: S608 - identifiers are validated names
            " metadata, content_hash, embedding) VALUES (:tenant_id, :doc_id, :chunk_no, :kind,"
            " :title, :content, CAST(:metadata AS jsonb), :content_hash,"
            " CAST(:embedding AS vector))"
        ),
        rows,
    )
    return len(rows)


async def sync_table(
    engine: AsyncEngine,
    table: VectorTable,
    *,
    embedder: Embedder,
    policy: ChunkingPolicy,
    metrics: LlmMetrics | None = None,
) -> SyncResult:
    """Make ``table`` hold exactly the current chunks of every document (see the module doc).

    ``embedder`` must produce ``table.spec`` vectors. Each batch commits on its own: a failure
    (an embedding outage) keeps what was done and raises; the next sync continues from there.
    """
    if embedder.spec != table.spec:
        raise ValueError(f"{table.name} holds {table.spec}, not {embedder.spec}")
    documents = chunks = removed = 0
    for batch in range(MAX_SYNC_BATCHES):
        async with engine.begin() as conn:
            await conn.execute(
                text("SELECT pg_advisory_xact_lock(hashtext(:n))"), {"n": table.name}
            )
            await all_tenants(conn)
            if batch == 0:
                removed = await _remove_stale(conn, table)
            pending = await _pending(conn, table)
            if not pending:
                break
            written = await _write_batch(conn, table, pending, embedder=embedder, policy=policy)
        documents += len(pending)
        chunks += written
        if metrics is not None:
            metrics.chunks_embedded.inc(written)
    return SyncResult(documents=documents, chunks=chunks, removed_chunks=removed)
