"""relay: events/s draining a pre-filled outbox, beside the two limits measured in the same run.

For each backend (Redis Streams, Kafka), on real PostgreSQL (durable) and brokers:

- ``events_per_s``: the relay's own loops (claim, validate, publish, wait for acks, mark) draining
  ``EVENTS`` pending rows with its default batch size and concurrency;
- ``raw_per_s``: the same broker client publishing the same messages, pre-built, no database;
- ``drain_per_s``: the same claim statement and marking of the same number of rows, no broker;
- ``ratio`` = events_per_s / min(raw_per_s, drain_per_s): how close the relay gets to its
  slower limit. Aim: ≥ 10,000 events/s and ratio ≥ 0.5.

All three run with the relay's default batch size and loop count (the same concurrency each);
``BENCH_RELAY_WORKERS`` and ``BENCH_RELAY_BATCH`` override them to explore.
"""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import Awaitable, Callable
from typing import Any

import asyncpg
from aiokafka.admin import AIOKafkaAdminClient, NewTopic

from bench._pipeline import create_database, fill_outbox, order_rows, stack
from ragline_dev.infra import Part
from ragline_dev.infra.kafka import Kafka
from ragline_dev.infra.postgres import Postgres
from ragline_dev.infra.valkey import Valkey
from ragline_relay import migrations
from ragline_relay.app import build_publisher, open_pool
from ragline_relay.claims import CLAIM_SQL, MARK_PUBLISHED_SQL
from ragline_relay.messages import Message, OutboxRow, to_message
from ragline_relay.metrics import RelayMetrics
from ragline_relay.publishers.base import Publisher
from ragline_relay.relay import Relay
from ragline_relay.settings import RelaySettings

EVENTS = 50_000
AIM_EVENTS_PER_S = 10_000
AIM_RATIO = 0.5
KAFKA_PARTITIONS = 6  # the EventStream default


async def _concurrently(step: Callable[[], Awaitable[int]], workers: int) -> None:
    """Run ``workers`` loops of ``step`` until each finds nothing left (``step`` returns 0)."""

    async def loop() -> None:
        while await step():
            pass

    await asyncio.gather(*(loop() for _ in range(workers)))


async def _timed(run: Callable[[], Awaitable[None]]) -> float:
    started = time.perf_counter()
    await run()
    return time.perf_counter() - started


async def _relay_rate(relay: Relay, pool: asyncpg.Pool, settings: RelaySettings) -> float:
    async def batch() -> int:
        return (await relay.run_batch()).claimed

    elapsed = await _timed(lambda: _concurrently(batch, settings.workers))
    async with pool.acquire() as conn:
        published = await conn.fetchval(
            "SELECT count(*) FROM outbox WHERE published_at IS NOT NULL"
        )
    assert published == EVENTS, f"the relay published {published} of {EVENTS}"
    return EVENTS / elapsed


async def _raw_rate(
    publisher: Publisher, messages: list[Message], settings: RelaySettings
) -> float:
    chunks = [
        messages[start : start + settings.batch_size]
        for start in range(0, len(messages), settings.batch_size)
    ]

    async def publish() -> int:
        if not chunks:
            return 0
        outcomes = await publisher.publish(chunks.pop())
        assert not any(outcomes), "the broker refused pre-built messages"
        return 1

    return EVENTS / await _timed(lambda: _concurrently(publish, settings.workers))


async def _drain_rate(pool: asyncpg.Pool, settings: RelaySettings) -> float:
    async def claim_and_mark() -> int:
        async with pool.acquire() as conn, conn.transaction():
            records = await conn.fetch(CLAIM_SQL, settings.batch_size)
            ids = [r["id"] for r in records if not r["blocked"]]
            if ids:
                await conn.execute(MARK_PUBLISHED_SQL, ids)
            return len(records)

    return EVENTS / await _timed(lambda: _concurrently(claim_and_mark, settings.workers))


def _messages(records: list[tuple[Any, ...]]) -> list[Message]:
    messages = []
    for record in records:
        message = to_message(
            OutboxRow(
                id=record[0],
                aggregatetype=record[1],
                aggregateid=record[2],
                type=record[3],
                tenant_id=record[5],
                payload=record[4],
                attempts=0,
            )
        )
        assert isinstance(message, Message)
        messages.append(message)
    return messages


async def _create_topic(bootstrap: str, name: str) -> None:
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        await admin.create_topics(
            [NewTopic(name=name, num_partitions=KAFKA_PARTITIONS, replication_factor=1)]
        )
    finally:
        await admin.close()


async def _measure(
    backend: str, endpoints: dict[str, str], records: list[tuple[Any, ...]]
) -> dict[str, Any]:
    dsn = await create_database(endpoints["admin_dsn"], f"bench_relay_{backend}")
    await asyncio.to_thread(migrations.upgrade, dsn)
    settings = RelaySettings(
        database_url=dsn,
        backend=backend,
        redis_url=endpoints["url"],
        redis_stream="bench:relay",
        kafka_bootstrap_servers=endpoints["bootstrap"],
        kafka_topic="bench.relay",
        listen_notify=False,
        workers=int(os.environ.get("BENCH_RELAY_WORKERS", "2")),
        batch_size=int(os.environ.get("BENCH_RELAY_BATCH", "500")),
    )
    if backend == "kafka":
        await _create_topic(endpoints["bootstrap"], settings.kafka_topic)
    publisher = build_publisher(settings)
    pool = await open_pool(settings)
    try:
        messages = _messages(records)
        await publisher.publish(messages[:10])  # connections and metadata, outside the clock
        relay = Relay(
            pool=pool,
            publisher=publisher,
            settings=settings,
            metrics=RelayMetrics.create(),
            dsn=dsn,
        )
        await fill_outbox(dsn, records)
        events = await _relay_rate(relay, pool, settings)
        raw = await _raw_rate(publisher, messages, settings)
        async with pool.acquire() as conn:
            await conn.execute("TRUNCATE outbox")
        await fill_outbox(dsn, records)
        drain = await _drain_rate(pool, settings)
    finally:
        await pool.close()
        await publisher.close()
    return {
        "events_per_s": round(events),
        "raw_per_s": round(raw),
        "drain_per_s": round(drain),
        "ratio": round(events / min(raw, drain), 3),
        "events": EVENTS,
        "batch_size": settings.batch_size,
        "workers": settings.workers,
    }


async def run() -> dict[str, Any]:
    """Measure both backends on one set of real servers."""
    records = order_rows(EVENTS)
    parts: list[Part] = [Postgres(durable=True), Valkey(durable=True), Kafka()]
    with stack(parts) as states:
        endpoints = {
            **states["postgres"].endpoints,
            **states["valkey"].endpoints,
            **states["kafka"].endpoints,
        }
        results: dict[str, Any] = {}
        for backend in ("redis", "kafka"):
            results[backend] = await _measure(backend, endpoints, records)
            print(f"relay.{backend}: {results[backend]}", flush=True)
    results["aim"] = {"events_per_s": AIM_EVENTS_PER_S, "ratio": AIM_RATIO}
    return results
