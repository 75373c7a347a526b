"""The tenant knowledge a process serves: which vector table answers, ingestion, retrieval.

The *target* table is the one the settings name (``vector_table``, or derived from the
embedding). If it is complete it serves at once. If not — first start, or the embedding model or
dimensions changed — the most recently completed table keeps serving (queries embedded with *its*
spec) while the target is built in the background; the switch happens only once the target is
complete, indexed and caught up. The ingestion Job builds the target the same way.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Sequence
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from ragline_common.db import TenantSession
from ragline_common.logs import get_logger
from ragline_llm.db import APP_ROLE, all_tenants, tenant_scope
from ragline_llm.metrics import LlmMetrics
from ragline_llm.providers.embeddings import Embedder, EmbeddingSpec
from ragline_llm.rag import index, repository
from ragline_llm.rag.chunking import ChunkingPolicy
from ragline_llm.rag.documents import IngestResult, KnowledgeBundle
from ragline_llm.rag.search import Hit, SearchFilter, SearchOptions, search

log = get_logger(__name__)
EmbedderFactory = Callable[[EmbeddingSpec], Embedder]


@dataclass(frozen=True)
class Serving:
    """The table queries go to and the embedder matching it."""

    table: index.VectorTable
    embedder: Embedder


class KnowledgeStore:
    """Documents, promotions and the serving vector table of one process."""

    def __init__(
        self,
        engine: AsyncEngine,
        *,
        target: index.VectorTable,
        embedder_for: EmbedderFactory,
        chunking: ChunkingPolicy,
        index_options: index.IndexOptions,
        metrics: LlmMetrics | None = None,
        db_role: str | None = APP_ROLE,
    ) -> None:
        self.engine = engine
        self.db_role = db_role
        self.target = target
        self.chunking = chunking
        self.index_options = index_options
        self.metrics = metrics
        self._embedder_for = embedder_for
        self._embedders: dict[EmbeddingSpec, Embedder] = {}
        self.serving: Serving | None = None
        self.build_error: str | None = None
        self._build_task: asyncio.Task[None] | None = None

    def tenant(self, tenant_id: str) -> AbstractAsyncContextManager[AsyncConnection]:
        """A transaction that sees only ``tenant_id``'s rows (row-level security)."""
        return tenant_scope(self.engine, tenant_id=tenant_id, role=self.db_role)

    def embedder(self, spec: EmbeddingSpec) -> Embedder:
        """The (cached) embedder of ``spec``."""
        if spec not in self._embedders:
            self._embedders[spec] = self._embedder_for(spec)
        return self._embedders[spec]

    @property
    def building(self) -> bool:
        """Whether a background build of the target runs."""
        return self._build_task is not None and not self._build_task.done()

    async def start(self, *, build: bool) -> None:
        """Pick the serving table; with ``build``, complete the target in the background."""
        async with self.engine.begin() as conn:
            await index.ensure_table(conn, self.target)
            status = await index.table_status(conn, self.target.name)
            fallback = None
            if status != "ready":
                fallback = await index.latest_ready(conn, exclude=self.target.name)
        if status == "ready":
            self.serving = Serving(self.target, self.embedder(self.target.spec))
        elif fallback is not None:
            try:
                self.serving = Serving(fallback, self.embedder(fallback.spec))
            except ValueError as exc:
                log.warning("cannot serve the previous table", table=fallback.name, error=str(exc))
        log.info(
            "vector tables",
            target=self.target.name,
            target_status=status,
            serving=self.serving.table.name if self.serving else None,
        )
        if build:
            self._build_task = asyncio.create_task(self._build_in_background())

    async def _build_in_background(self) -> None:
        try:
            await self.build()
        except Exception as exc:
            self.build_error = f"{type(exc).__name__}: {exc}"
            log.exception("building the vector table failed", table=self.target.name)

    async def build(self) -> index.SyncResult:
        """Fill, index and catch up the target table, mark it ready and serve it."""
        embedder = self.embedder(self.target.spec)
        first = await index.sync_table(
            self.engine,
            self.target,
            embedder=embedder,
            policy=self.chunking,
            metrics=self.metrics,
        )
        async with self.engine.begin() as conn:
            await index.ensure_index(conn, self.target, self.index_options)
        # Documents ingested meanwhile went to the table that was serving; take them too.
        caught_up = await index.sync_table(
            self.engine, self.target, embedder=embedder, policy=self.chunking, metrics=self.metrics
        )
        async with self.engine.begin() as conn:
            await index.mark_ready(conn, self.target)
        self.serving = Serving(self.target, embedder)
        self.build_error = None
        log.info("vector table ready and serving", table=self.target.name)
        return index.SyncResult(
            documents=first.documents + caught_up.documents,
            chunks=first.chunks + caught_up.chunks,
            removed_chunks=first.removed_chunks + caught_up.removed_chunks,
        )

    async def ingest(self, tenant_id: str, bundle: KnowledgeBundle) -> IngestResult:
        """Store a tenant's documents and promotions, then embed them into the serving table."""
        async with self.tenant(tenant_id) as conn:
            written = await repository.upsert_documents(
                conn, tenant_id=tenant_id, documents=bundle.documents, origin="api"
            )
            promotions = await repository.upsert_promotions(
                conn, tenant_id=tenant_id, promotions=bundle.promotions, origin="api"
            )
        # The serving table answers now; a target still being built must not miss them either
        # (its own catch-up pass may already be over).
        tables = [self.serving] if self.serving is not None else []
        if self.serving is None or self.serving.table != self.target:
            tables.append(Serving(self.target, self.embedder(self.target.spec)))
        chunks = 0
        for serving in tables:
            result = await index.sync_table(
                self.engine,
                serving.table,
                embedder=serving.embedder,
                policy=self.chunking,
                metrics=self.metrics,
            )
            chunks = chunks or result.chunks
        return IngestResult(
            documents=written,
            unchanged=len(bundle.documents) - written,
            promotions=promotions,
            chunks=chunks,
        )

    async def retrieve(
        self,
        session: TenantSession,
        query: str,
        *,
        filters: SearchFilter,
        options: SearchOptions,
    ) -> list[Hit]:
        """The session's tenant's chunks most similar to ``query`` (none while no table is
        complete)."""
        serving = self.serving
        if serving is None:
            return []
        started = time.perf_counter()
        vector = (await serving.embedder.embed([query]))[0]
        hits = await search(session, serving.table, vector=vector, filters=filters, options=options)
        if self.metrics is not None:
            self.metrics.retrieval_duration.observe(time.perf_counter() - started)
        return hits

    async def close(self) -> None:
        """Stop a running build and close the embedders."""
        if self._build_task is not None:
            self._build_task.cancel()
            await asyncio.gather(self._build_task, return_exceptions=True)
        for embedder in self._embedders.values():
            await embedder.close()

    def describe(self) -> dict[str, object]:
        """The index state for ``/readyz``."""
        return {
            "target": self.target.name,
            "serving": self.serving.table.name if self.serving else None,
            "building": self.building,
            "error": self.build_error,
        }

    async def ingest_sources(
        self, bundles: Sequence[tuple[str, KnowledgeBundle]]
    ) -> tuple[int, int]:
        """Replace the source-ingested knowledge with ``bundles``.

        Returns how many documents and promotions were written.
        """
        documents = promotions = 0
        async with self.engine.begin() as conn:
            await all_tenants(conn)
            for tenant_id, bundle in bundles:
                documents += await repository.upsert_documents(
                    conn, tenant_id=tenant_id, documents=bundle.documents, origin="source"
                )
                promotions += await repository.upsert_promotions(
                    conn, tenant_id=tenant_id, promotions=bundle.promotions, origin="source"
                )
            await repository.delete_missing_sources(
                conn,
                keep_documents={(t, d.id) for t, b in bundles for d in b.documents},
                keep_promotions={(t, p.id) for t, b in bundles for p in b.promotions},
            )
        return documents, promotions
