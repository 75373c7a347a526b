"""The LLM service's app factory: ``create_app(settings)``; connections live in the lifespan."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncEngine

from ragline_common.auth import TokenVerifier
from ragline_common.errors import install_problem_handlers
from ragline_common.http import BodySizeLimitMiddleware, RequestContextMiddleware
from ragline_common.logs import configure_logging, get_logger
from ragline_common.registry_store import KeyStore, RegistryStore
from ragline_llm import __doc__ as llm_doc
from ragline_llm import migrations
from ragline_llm.breakers import UpstreamBreaker
from ragline_llm.budget import TokenLedger
from ragline_llm.chat.endpoints import router as chat_router
from ragline_llm.chat.rounds import RoundRunner
from ragline_llm.chat.service import ChatService
from ragline_llm.db import create_engine
from ragline_llm.health import health_router
from ragline_llm.metrics import LlmMetrics
from ragline_llm.providers import factory
from ragline_llm.rag.chunking import ChunkingPolicy
from ragline_llm.rag.endpoints import router as knowledge_router
from ragline_llm.rag.index import IndexOptions, VectorTable
from ragline_llm.rag.store import KnowledgeStore
from ragline_llm.settings import LlmSettings
from ragline_llm.state import LlmState
from ragline_llm.tools.runner import ToolRunner

VERSION = "0.1.0"
log = get_logger(__name__)


def knowledge_store(
    settings: LlmSettings,
    engine: AsyncEngine,
    *,
    guard: UpstreamBreaker,
    metrics: LlmMetrics | None,
) -> KnowledgeStore:
    """The store of the settings' target table; embedding calls run under ``guard``."""
    return KnowledgeStore(
        engine,
        target=VectorTable(settings.table, factory.configured_spec(settings)),
        embedder_for=lambda spec: factory.embedder(spec, settings, guard=guard, metrics=metrics),
        chunking=ChunkingPolicy(settings.chunk_size_tokens, settings.chunk_overlap_tokens),
        index_options=IndexOptions(
            type=settings.index_type,
            m=settings.index_m,
            ef_construction=settings.index_ef_construction,
            lists=settings.index_lists,
        ),
        metrics=metrics,
        db_role=settings.db_role or None,
    )


async def build_state(settings: LlmSettings, metrics: LlmMetrics) -> LlmState:
    """Create the pools, clients and services a running LLM service needs."""
    engine = create_engine(
        settings.database_url,
        ef_search=settings.index_ef_search,
        pool_size=settings.db_pool_size,
        max_overflow=settings.db_max_overflow,
        application_name=settings.service_name,
    )
    registry = RegistryStore(
        settings.registry_path, reload_seconds=settings.registry_reload_seconds
    )
    registry.current()
    verifier = TokenVerifier(
        registry=registry,
        keys=KeyStore(settings.keys_dir),
        leeway_seconds=settings.token_leeway_seconds,
    )
    chat_breaker = factory.breaker("chat", settings, metrics)
    embeddings_breaker = factory.breaker("embeddings", settings, metrics)
    store = knowledge_store(settings, engine, guard=embeddings_breaker, metrics=metrics)
    model = factory.chat_model(settings)
    http = httpx.AsyncClient(timeout=settings.api_timeout_seconds)
    chat = ChatService(
        rounds=RoundRunner(
            model=model,
            breaker=chat_breaker,
            policy=factory.retry_policy(settings),
            metrics=metrics,
            deadline_seconds=settings.request_deadline_seconds,
        ),
        ledger=TokenLedger(engine, metrics=metrics, db_role=settings.db_role or None),
        tools=ToolRunner(store=store, http=http, settings=settings, metrics=metrics),
        store=store,
        settings=settings,
        engine=engine,
        db_role=settings.db_role or None,
    )
    return LlmState(
        settings=settings,
        metrics=metrics,
        engine=engine,
        registry=registry,
        verifier=verifier,
        model=model,
        http=http,
        store=store,
        chat=chat,
        breakers=(chat_breaker, embeddings_breaker),
    )


async def close_state(state: LlmState) -> None:
    """Release everything :func:`build_state` made (after the token writes in flight)."""
    await state.chat.ledger.drain()
    await state.store.close()
    await state.http.aclose()
    await state.model.close()
    await state.engine.dispose()


def create_app(settings: LlmSettings | None = None) -> FastAPI:
    """Build the service. Without ``settings`` they are read from ``RAGLINE_LLM_*`` variables."""
    settings = settings or LlmSettings()
    configure_logging(level=settings.log_level, json=settings.log_json)
    metrics = LlmMetrics.create()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        if settings.migrate_on_start:
            await asyncio.to_thread(migrations.upgrade, settings.database_url)
        state = await build_state(settings, metrics)
        try:
            await state.store.start(build=settings.sync_on_start)
        except BaseException:
            await close_state(state)
            raise
        app.state.llm = state
        log.info("llm service started", model=settings.model, table=state.store.target.name)
        try:
            yield
        finally:
            del app.state.llm
            await close_state(state)

    app = FastAPI(
        title="RAGline LLM",
        description=(llm_doc or "").strip(),
        version=VERSION,
        lifespan=lifespan,
    )
    install_problem_handlers(app)
    app.include_router(chat_router)
    app.include_router(knowledge_router)
    app.include_router(health_router(app, metrics=metrics))
    app.add_middleware(BodySizeLimitMiddleware, max_bytes=settings.max_body_bytes)
    app.add_middleware(
        RequestContextMiddleware, metrics=metrics.http, access_log=settings.access_log
    )
    return app


def openapi_document() -> dict[str, Any]:
    """The OpenAPI document (``make generate`` writes it to contracts/openapi/llm.json)."""
    settings = LlmSettings(database_url="postgresql://openapi@127.0.0.1:1/none")
    return create_app(settings).openapi()
