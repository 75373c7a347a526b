"""The API's app factory: ``create_app(settings)``; everything with a connection lives in the
lifespan, so building the app (for OpenAPI, tests) touches nothing."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI
from sqlalchemy import text

from ragline_api import __doc__ as api_doc
from ragline_api.metrics import ApiMetrics
from ragline_api.orders import idempotency
from ragline_api.orders.endpoints import create_route
from ragline_api.orders.endpoints import router as orders_router
from ragline_api.orders.fast_create import PlainOrderPosts
from ragline_api.products.endpoints import read_route
from ragline_api.products.endpoints import router as products_router
from ragline_api.products.fast_read import CachedProductReads
from ragline_api.settings import ApiSettings
from ragline_api.state import ApiState
from ragline_common import redis_client
from ragline_common.auth import TokenVerifier
from ragline_common.cache import CachePolicy, LeasedCache
from ragline_common.db import create_engine
from ragline_common.errors import install_problem_handlers
from ragline_common.health import ReadinessCheck, health_router
from ragline_common.http import BodySizeLimitMiddleware, RequestContextMiddleware
from ragline_common.logs import configure_logging, get_logger
from ragline_common.ratelimit import RateLimiter
from ragline_common.registry_store import KeyStore, RegistryStore

VERSION = "0.1.0"
log = get_logger(__name__)


async def build_state(settings: ApiSettings, metrics: ApiMetrics) -> ApiState:
    """Create the pools and helpers a running API needs (nothing connects until first use)."""
    engine = create_engine(
        settings.database_url,
        pool_size=settings.db_pool_size,
        max_overflow=settings.db_max_overflow,
        application_name=settings.service_name,
    )
    redis = redis_client.connect(
        settings.redis_url,
        command_timeout_seconds=settings.redis_timeout_seconds,
        max_connections=settings.redis_max_connections,
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
    return ApiState(
        settings=settings,
        metrics=metrics,
        engine=engine,
        redis=redis,
        registry=registry,
        verifier=verifier,
        limiter=RateLimiter(redis, prefix="ragline:api:ratelimit"),
        product_cache=LeasedCache(
            redis,
            name="product",
            prefix="ragline:api:cache",
            policy=CachePolicy(ttl_seconds=settings.cache_ttl_seconds),
            metrics=metrics.cache,
        ),
    )


def _readiness(app: FastAPI) -> Mapping[str, ReadinessCheck]:
    state: ApiState | None = getattr(app.state, "api", None)
    if state is None:
        return {"lifespan": _not_started}

    async def database() -> None:
        async with state.engine.connect() as conn:
            await conn.execute(text("SELECT 1"))

    async def redis() -> None:
        await state.redis.ping()

    async def registry() -> None:
        state.registry.current()
        if not state.registry.loaded:
            raise RuntimeError("tenant registry not loaded")

    return {"database": database, "redis": redis, "registry": registry}


async def _not_started() -> None:
    raise RuntimeError("the app has not started")


def create_app(settings: ApiSettings | None = None) -> FastAPI:
    """Build the API. Without ``settings`` they are read from ``RAGLINE_API_*`` variables."""
    settings = settings or ApiSettings()  # required fields come from the environment
    configure_logging(level=settings.log_level, json=settings.log_json)
    metrics = ApiMetrics.create()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        state = await build_state(settings, metrics)
        app.state.api = state
        purge = asyncio.create_task(
            idempotency.purge_loop(
                state.engine,
                ttl=state.idempotency_ttl,
                interval_seconds=settings.idempotency_purge_interval_seconds,
                batch_size=settings.idempotency_purge_batch_size,
                max_batches=settings.idempotency_purge_max_batches,
                purged=metrics.idempotency_keys_purged,
            ),
            name="idempotency-purge",
        )
        log.info("api started", registry_loaded=state.registry.loaded)
        try:
            yield
        finally:
            purge.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await purge
            del app.state.api
            await state.redis.aclose()
            await state.engine.dispose()

    app = FastAPI(
        title="RAGline API",
        description=(api_doc or "").strip(),
        version=VERSION,
        lifespan=lifespan,
        # RAGline's metrics are Prometheus (below); FastAPI's native OpenTelemetry, never
        # configured here, would still look for global providers on every request.
        telemetry={"tracing": False, "metrics": False, "logs": False},
    )
    install_problem_handlers(app)
    app.include_router(products_router)
    app.include_router(orders_router)
    app.include_router(
        health_router(checks=lambda: _readiness(app), registry=lambda: metrics.registry)
    )
    # Added last = outermost: the request context wraps the body limit, so a 413 is logged,
    # counted and carries the correlation id like any other answer; both wrap the fast product
    # read and the plain order post, which answer only well-formed requests and pass everything
    # else to the routes.
    app.add_middleware(PlainOrderPosts, route=create_route())
    app.add_middleware(CachedProductReads, route=read_route())
    app.add_middleware(BodySizeLimitMiddleware, max_bytes=settings.max_body_bytes)
    app.add_middleware(
        RequestContextMiddleware, metrics=metrics.http, access_log=settings.access_log
    )
    return app


def openapi_document() -> dict[str, Any]:
    """Return the OpenAPI document (``make generate`` writes it to contracts/openapi/api.json)."""
    settings = ApiSettings(
        database_url="postgresql://openapi@127.0.0.1:1/none",
        redis_url="redis://127.0.0.1:1/0",
    )
    return create_app(settings).openapi()
