"""The notifier's app factory: the stream consumer and the sweeper run in the lifespan."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
import time
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI

from ragline_common.auth import TokenVerifier
from ragline_common.errors import install_problem_handlers
from ragline_common.health import ReadinessCheck, health_router
from ragline_common.http import RequestContextMiddleware
from ragline_common.logs import configure_logging, get_logger
from ragline_common.registry import TenantState
from ragline_common.registry_store import KeyStore, RegistryStore
from ragline_notifier import collector
from ragline_notifier.consumer import Consumer
from ragline_notifier.dedup import Dedup
from ragline_notifier.hub import Hub
from ragline_notifier.metrics import NotifierMetrics
from ragline_notifier.settings import NotifierSettings
from ragline_notifier.sources.base import StreamSource
from ragline_notifier.sources.kafka import KafkaSource
from ragline_notifier.sources.redis import RedisSource
from ragline_notifier.sse import router as sse_router
from ragline_notifier.state import NotifierState
from ragline_notifier.subscriber import EXPIRED, SHUTDOWN, SUSPENDED, UNREGISTERED
from ragline_notifier.ws import router as ws_router
from ragline_notifier.ws_openapi import document_websocket

VERSION = "0.1.0"
log = get_logger(__name__)
_TOKEN_IN_QUERY = re.compile(r"(access_token=)[^&\s\"]+")


class RedactTokens(logging.Filter):
    """uvicorn logs each WebSocket's path with its query, where browsers put the token."""

    def filter(self, record: logging.LogRecord) -> bool:
        """Blank ``access_token=...`` in the record's message arguments."""
        if isinstance(record.args, tuple):
            record.args = tuple(
                _TOKEN_IN_QUERY.sub(r"\1[redacted]", arg) if isinstance(arg, str) else arg
                for arg in record.args
            )
        return True


def build_source(settings: NotifierSettings) -> StreamSource:
    """Return the stream the settings name (nothing connects yet)."""
    if settings.backend == "kafka":
        return KafkaSource(
            bootstrap_servers=settings.kafka_bootstrap_servers,
            topic=settings.kafka_topic,
            group=settings.group_name(),
            client_id=f"{settings.service_name}-{settings.instance_name()}",
        )
    return RedisSource(
        url=settings.redis_url,
        stream=settings.redis_stream,
        group=settings.group_name(),
        consumer=settings.instance_name(),
        block_ms=settings.fetch_block_ms,
        destroy_group=not settings.instance_id,
    )


def build_state(settings: NotifierSettings, metrics: NotifierMetrics) -> NotifierState:
    """Create the stream client, hub, consumer and token verifier."""
    source = build_source(settings)
    hub = Hub(
        dedup=Dedup(capacity=settings.dedup_capacity, margin=settings.replay_lookback),
        metrics=metrics,
    )
    registry = RegistryStore(
        settings.registry_path, reload_seconds=settings.registry_reload_seconds
    )
    registry.current()
    return NotifierState(
        settings=settings,
        metrics=metrics,
        hub=hub,
        source=source,
        consumer=Consumer(source=source, hub=hub, settings=settings, metrics=metrics),
        registry=registry,
        verifier=TokenVerifier(
            registry=registry,
            keys=KeyStore(settings.keys_dir),
            leeway_seconds=settings.token_leeway_seconds,
        ),
        replay_slots=asyncio.Semaphore(settings.replay_concurrency),
    )


def sweep(state: NotifierState, now: float) -> None:
    """Close the sessions of suspended or removed tenants, and of expired tokens."""
    registry = state.registry.current()
    for tenant in state.hub.tenants():
        entry = registry.tenant(tenant)
        cut_off = None
        if entry is None:
            cut_off = UNREGISTERED
        elif entry.state is TenantState.SUSPENDED:
            cut_off = SUSPENDED
        for subscriber in state.hub.subscribers_of(tenant):
            if cut_off is not None:
                state.hub.close(subscriber, cut_off)
            elif subscriber.expires_at <= now:
                state.hub.close(subscriber, EXPIRED)


async def _sweeper(state: NotifierState) -> None:
    while True:
        await asyncio.sleep(state.settings.sweep_seconds)
        sweep(state, time.time())


async def _heartbeats(state: NotifierState) -> None:
    # Ticking twice per period keeps every idle client's gap between beats within one period.
    while True:
        await asyncio.sleep(state.settings.heartbeat_seconds / 2)
        state.hub.tick()


def _readiness(app: FastAPI) -> Mapping[str, ReadinessCheck]:
    state: NotifierState | None = getattr(app.state, "notifier", None)
    if state is None:
        return {"lifespan": _not_started}

    async def stream() -> None:
        if not state.consumer.ready:
            raise RuntimeError("not reading the stream")
        await state.source.ping()

    async def registry() -> None:
        state.registry.current()
        if not state.registry.loaded:
            raise RuntimeError("tenant registry not loaded")

    return {"stream": stream, "registry": registry}


async def _not_started() -> None:
    raise RuntimeError("the notifier has not started")


def create_app(settings: NotifierSettings | None = None) -> FastAPI:
    """Build the notifier. Without ``settings`` they come from ``RAGLINE_NOTIFIER_*``."""
    settings = settings or NotifierSettings()
    configure_logging(level=settings.log_level, json=settings.log_json)
    uvicorn_log = logging.getLogger("uvicorn.error")
    if not any(isinstance(f, RedactTokens) for f in uvicorn_log.filters):
        uvicorn_log.addFilter(RedactTokens())
    metrics = NotifierMetrics.create()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        state = build_state(settings, metrics)
        app.state.notifier = state
        app.state.loop = asyncio.get_running_loop()
        tasks = [
            asyncio.create_task(state.consumer.run(), name="notifier-consumer"),
            asyncio.create_task(_sweeper(state), name="notifier-sweeper"),
            asyncio.create_task(_heartbeats(state), name="notifier-heartbeats"),
            asyncio.create_task(collector.tend(), name="notifier-gc"),
        ]
        log.info("notifier started", backend=settings.backend, group=settings.group_name())
        try:
            yield
        finally:
            state.hub.close_all(SHUTDOWN)
            for task in tasks:
                task.cancel()
            for task in tasks:
                with contextlib.suppress(asyncio.CancelledError):
                    await task
            await state.source.close()
            del app.state.notifier

    app = FastAPI(
        title="RAGline notifier",
        description="A tenant's events, live over SSE and WebSocket, resumable by position.",
        version=VERSION,
        lifespan=lifespan,
    )
    install_problem_handlers(app)
    document_websocket(app)
    app.include_router(sse_router)
    app.include_router(ws_router)
    app.include_router(
        health_router(checks=lambda: _readiness(app), registry=lambda: metrics.registry)
    )
    app.add_middleware(
        RequestContextMiddleware, metrics=metrics.http, access_log=settings.access_log
    )
    return app


def begin_shutdown(app: FastAPI) -> None:
    """Close every client session, from a signal handler: the server waits for open responses
    before it runs the lifespan's shutdown, and event streams never end by themselves."""
    state: NotifierState | None = getattr(app.state, "notifier", None)
    loop: asyncio.AbstractEventLoop | None = getattr(app.state, "loop", None)
    if state is not None and loop is not None:
        loop.call_soon_threadsafe(state.hub.close_all, SHUTDOWN)


def openapi_document() -> dict[str, Any]:
    """Return the notifier's OpenAPI document (for ``contracts/openapi/notifier.json``)."""
    return create_app(NotifierSettings()).openapi()
