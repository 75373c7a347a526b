"""The relay's app factory: the loops run in the lifespan; HTTP serves probes, metrics, admin."""

from __future__ import annotations

import asyncio
import contextlib
import socket
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from typing import Any

import asyncpg
from fastapi import FastAPI

from ragline_common.auth import TokenVerifier
from ragline_common.db import plain_dsn
from ragline_common.errors import install_problem_handlers
from ragline_common.health import ReadinessCheck, health_router
from ragline_common.http import RequestContextMiddleware
from ragline_common.logs import configure_logging, get_logger
from ragline_common.registry_store import KeyStore, RegistryStore
from ragline_relay import migrations
from ragline_relay.claims import CLAIM_SQL, MARK_PUBLISHED_SQL
from ragline_relay.deadletters import router as dead_letters_router
from ragline_relay.metrics import RelayMetrics
from ragline_relay.publishers.base import Publisher
from ragline_relay.publishers.kafka import KafkaPublisher
from ragline_relay.publishers.redis import RedisPublisher
from ragline_relay.relay import Relay
from ragline_relay.settings import RelaySettings
from ragline_relay.state import RelayState

VERSION = "0.1.0"
# How long a stopping relay lets its batches in flight finish before cancelling them.
STOP_GRACE_SECONDS = 5.0
# The loops' connections, plus admin requests, the statistics query and the outbox purge.
EXTRA_CONNECTIONS = 4
log = get_logger(__name__)


def build_publisher(settings: RelaySettings) -> Publisher:
    """Return the broker client the settings name (nothing connects yet)."""
    if settings.backend == "kafka":
        return KafkaPublisher(
            bootstrap_servers=settings.kafka_bootstrap_servers,
            topic=settings.kafka_topic,
            linger_ms=settings.kafka_linger_ms,
            max_request_bytes=settings.kafka_max_request_bytes,
            timeout_seconds=settings.publish_timeout_seconds,
            client_id=f"{settings.service_name}-{socket.gethostname()}",
        )
    return RedisPublisher(
        url=settings.redis_url,
        stream=settings.redis_stream,
        max_len=settings.redis_max_len,
        timeout_seconds=settings.publish_timeout_seconds,
    )


async def _prepare_batch_statements(conn: asyncpg.Connection) -> None:
    """Have a new connection parse and cache the claim and mark statements (claiming and marking
    nothing), so the first events after a start or a reconnect do not wait for it.

    Before the API migrated the outbox this fails; the statements are then prepared on first use.
    """
    with contextlib.suppress(asyncpg.PostgresError):
        await conn.fetch(CLAIM_SQL, 0)
        await conn.execute(MARK_PUBLISHED_SQL, [])


async def open_pool(settings: RelaySettings) -> asyncpg.Pool:
    """Return the relay's connection pool: one connection per loop and a few for the rest.

    The loops' connections are opened (and their statements prepared) before the relay serves:
    opened on demand, the first batches after a start waited for a connection each, which showed
    in the commit → client latency of the first orders.
    """
    return await asyncpg.create_pool(
        plain_dsn(settings.database_url),
        min_size=settings.workers,
        max_size=settings.workers + EXTRA_CONNECTIONS,
        init=_prepare_batch_statements,
        server_settings={
            "application_name": settings.service_name,
            # A mark lost in a database crash only makes its rows publish again (consumers
            # de-duplicate), so the relay's commits need not wait for the WAL flush.
            "synchronous_commit": "off",
        },
    )


async def build_state(settings: RelaySettings, metrics: RelayMetrics) -> RelayState:
    """Create the pool, broker client, loops and token verifier."""
    dsn = plain_dsn(settings.database_url)
    pool = await open_pool(settings)
    publisher = build_publisher(settings)
    registry = RegistryStore(
        settings.registry_path, reload_seconds=settings.registry_reload_seconds
    )
    registry.current()
    return RelayState(
        settings=settings,
        metrics=metrics,
        pool=pool,
        publisher=publisher,
        relay=Relay(pool=pool, publisher=publisher, settings=settings, metrics=metrics, dsn=dsn),
        registry=registry,
        verifier=TokenVerifier(
            registry=registry,
            keys=KeyStore(settings.keys_dir),
            leeway_seconds=settings.token_leeway_seconds,
        ),
    )


def _readiness(app: FastAPI) -> Mapping[str, ReadinessCheck]:
    state: RelayState | None = getattr(app.state, "relay", None)
    task: asyncio.Task[None] | None = getattr(app.state, "relay_task", None)
    if state is None or task is None:
        return {"lifespan": _not_started}

    async def loops() -> None:
        if task.done():
            raise RuntimeError("the relay loops have stopped")

    return {"database": state.relay.ping_database, "broker": state.publisher.ping, "loops": loops}


async def _not_started() -> None:
    raise RuntimeError("the relay has not started")


async def _stop(state: RelayState, task: asyncio.Task[None]) -> None:
    state.relay.stop()
    done, _ = await asyncio.wait({task}, timeout=STOP_GRACE_SECONDS)
    if not done:
        task.cancel()
    with contextlib.suppress(asyncio.CancelledError, Exception):
        await task
    await state.publisher.close()
    await state.pool.close()


def create_app(settings: RelaySettings | None = None) -> FastAPI:
    """Build the relay. Without ``settings`` they are read from ``RAGLINE_RELAY_*`` variables."""
    settings = settings or RelaySettings()  # required fields come from the environment
    configure_logging(level=settings.log_level, json=settings.log_json)
    metrics = RelayMetrics.create()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        if settings.migrate:
            await asyncio.to_thread(migrations.upgrade, settings.database_url)
        state = await build_state(settings, metrics)
        app.state.relay = state
        task = asyncio.create_task(state.relay.run(), name="relay")
        app.state.relay_task = task
        log.info("relay started", backend=settings.backend, workers=settings.workers)
        try:
            yield
        finally:
            del app.state.relay
            del app.state.relay_task
            await _stop(state, task)

    app = FastAPI(
        title="RAGline relay",
        description="Publishes outbox rows to the event stream; dead-letter administration.",
        version=VERSION,
        lifespan=lifespan,
    )
    install_problem_handlers(app)
    app.include_router(dead_letters_router)
    app.include_router(
        health_router(checks=lambda: _readiness(app), registry=lambda: metrics.registry)
    )
    app.add_middleware(
        RequestContextMiddleware, metrics=metrics.http, access_log=settings.access_log
    )
    return app


def openapi_document() -> dict[str, Any]:
    """Return the relay's OpenAPI document (for ``contracts/openapi/relay.json``)."""
    settings = RelaySettings(database_url="postgresql://openapi@127.0.0.1:1/none")
    return create_app(settings).openapi()
