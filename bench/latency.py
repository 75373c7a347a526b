"""latency: commit → SSE client, at 200 orders/s, through the real relay and notifier processes.

Each order is its own transaction (one outbox row, as the API writes it); its latency runs from
the moment the commit returned to the moment an SSE client of the tenant read the event. The
figures are the steady state: orders flow for ``WARMUP_S`` first, and those are reported apart
(``warmup_p99_ms``): the broker, relay and notifier have just started, and their first seconds
(a new topic's partitions, cold connections, the broker's JIT) are a start-up cost, not the
latency of a running pipeline. For
each backend, beside it, the broker's own hop measured in the same run with the same client
library (publish → a consumer blocked on the stream), the floor any relay + notifier sits on.
Aim: p50 ≤ 15 ms, p99 ≤ 50 ms.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import asyncpg
import httpx
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from redis.asyncio import Redis

from bench._pipeline import (
    Registry,
    create_database,
    order_rows,
    percentile,
    stack,
    start_service,
)
from ragline_dev.infra import Part
from ragline_dev.infra.kafka import Kafka
from ragline_dev.infra.postgres import Postgres
from ragline_dev.infra.valkey import Valkey

RATE_PER_S = 200
WARMUP_S = 3
DURATION_S = 15
HOP_SAMPLES = 400
DRAIN_WAIT_S = 15.0
AIM = {"p50_ms": 15, "p99_ms": 50}
INSERT_SQL = (
    "INSERT INTO outbox (id, aggregatetype, aggregateid, type, payload, tenant_id, created_at) "
    "VALUES ($1, $2, $3, $4, $5, $6, now())"
)


class Receiver:
    """An SSE client noting when each event id arrives."""

    def __init__(self, url: str, token: str) -> None:
        self.url = url
        self.token = token
        self.arrived: dict[str, float] = {}
        self.connected = asyncio.Event()
        self._arrival = asyncio.Event()

    async def all_arrived(self, ids: set[str]) -> None:
        """Wait until every one of ``ids`` has arrived."""
        while not ids <= self.arrived.keys():
            self._arrival.clear()
            await self._arrival.wait()

    async def run(self) -> None:
        headers = {"Authorization": f"Bearer {self.token}"}
        timeout = httpx.Timeout(10.0, read=None)
        async with (
            httpx.AsyncClient(base_url=self.url, timeout=timeout) as client,
            client.stream("GET", "/v1/stream/orders", headers=headers) as response,
        ):
            self.connected.set()
            async for line in response.aiter_lines():
                if line.startswith("data: "):
                    now = time.monotonic()
                    self.arrived[json.loads(line[6:])["id"]] = now
                    self._arrival.set()


async def _write_orders(dsn: str) -> dict[str, float]:
    """Commit one order per transaction at ``RATE_PER_S`` for the warm-up and the measured
    time; return commit times by event id, in commit order."""
    rows = order_rows(RATE_PER_S * (WARMUP_S + DURATION_S))
    committed: dict[str, float] = {}
    conn = await asyncpg.connect(dsn)
    try:
        started = time.monotonic()
        for index, row in enumerate(rows):
            delay = started + index / RATE_PER_S - time.monotonic()
            if delay > 0:
                await asyncio.sleep(delay)
            await conn.execute(INSERT_SQL, *row[:6])
            committed[str(row[0])] = time.monotonic()
    finally:
        await conn.close()
    return committed


async def _pipeline_latency(
    backend: str, endpoints: dict[str, str], workdir: Path
) -> dict[str, Any]:
    dsn = await create_database(endpoints["admin_dsn"], f"bench_latency_{backend}")
    registry = Registry(workdir / "registry")
    registry.write(["acme"])
    stream = f"bench-latency-{backend}"
    if backend == "kafka":
        await _create_topic(endpoints["bootstrap"], stream)
    broker = {
        "BACKEND": backend,
        "REDIS_URL": endpoints["url"],
        "REDIS_STREAM": stream,
        "KAFKA_BOOTSTRAP_SERVERS": endpoints["bootstrap"],
        "KAFKA_TOPIC": stream,
    }
    relay = await start_service(
        "ragline_relay",
        {"RAGLINE_RELAY_DATABASE_URL": dsn, **{f"RAGLINE_RELAY_{k}": v for k, v in broker.items()}},
        log=workdir / f"relay-{backend}.log",
    )
    notifier = await start_service(
        "ragline_notifier",
        {
            "RAGLINE_NOTIFIER_REGISTRY_PATH": str(registry.path),
            "RAGLINE_NOTIFIER_KEYS_DIR": str(registry.keys_dir),
            **{f"RAGLINE_NOTIFIER_{k}": v for k, v in broker.items()},
        },
        log=workdir / f"notifier-{backend}.log",
    )
    receiver = Receiver(notifier.url, registry.token("acme"))
    reading = asyncio.create_task(receiver.run())
    try:
        await asyncio.wait_for(receiver.connected.wait(), 10)
        committed = await _write_orders(dsn)
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(DRAIN_WAIT_S):
                await receiver.all_arrived(set(committed))
    finally:
        reading.cancel()
        relay.stop()
        notifier.stop()
    ordered = list(committed.items())
    warmup, measured = ordered[: RATE_PER_S * WARMUP_S], ordered[RATE_PER_S * WARMUP_S :]
    latencies = _latencies(measured, receiver.arrived)
    return {
        "p50_ms": round(percentile(latencies, 0.50), 2),
        "p99_ms": round(percentile(latencies, 0.99), 2),
        "max_ms": round(max(latencies), 2),
        "orders": len(measured),
        "delivered": len(latencies),
        "warmup_p99_ms": round(percentile(_latencies(warmup, receiver.arrived), 0.99), 2),
        "warmup_undelivered": sum(event_id not in receiver.arrived for event_id, _ in warmup),
    }


def _latencies(committed: list[tuple[str, float]], arrived: dict[str, float]) -> list[float]:
    return [(arrived[event_id] - at) * 1000 for event_id, at in committed if event_id in arrived]


async def _create_topic(bootstrap: str, name: str) -> None:
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        await admin.create_topics([NewTopic(name=name, num_partitions=6, replication_factor=1)])
    finally:
        await admin.close()


async def _redis_hop(url: str) -> list[float]:
    """XADD → a reader blocked in XREAD on another connection, at the same rate."""
    writer, reader = Redis.from_url(url), Redis.from_url(url)
    stream = f"bench-hop-{uuid.uuid4().hex[:6]}"
    latencies: list[float] = []
    try:
        last = "$"
        for _ in range(HOP_SAMPLES):
            read: asyncio.Task[Any] = asyncio.create_task(_xread(reader, stream, last))
            await asyncio.sleep(1 / RATE_PER_S)
            sent = time.monotonic()
            await writer.xadd(stream, {"data": b"x" * 700})
            reply = await read
            latencies.append((time.monotonic() - sent) * 1000)
            last = reply[0][1][-1][0]
    finally:
        await writer.aclose()
        await reader.aclose()
    return latencies


async def _xread(reader: Redis, stream: str, last: str) -> Any:
    return await reader.xread({stream: last}, block=2000, count=1)


async def _kafka_hop(bootstrap: str) -> list[float]:
    """send_and_wait → a consumer's getmany, at the same rate."""
    topic = f"bench-hop-{uuid.uuid4().hex[:6]}"
    await _create_topic(bootstrap, topic)
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all", enable_idempotence=True)
    consumer = AIOKafkaConsumer(topic, bootstrap_servers=bootstrap, auto_offset_reset="latest")
    await producer.start()
    await consumer.start()
    latencies: list[float] = []
    try:
        await consumer.getmany(timeout_ms=500)
        for _ in range(HOP_SAMPLES):
            await asyncio.sleep(1 / RATE_PER_S)
            sent = time.monotonic()
            await producer.send(topic, b"x" * 700, key=uuid.uuid4().bytes)
            while not await consumer.getmany(timeout_ms=2000):
                pass
            latencies.append((time.monotonic() - sent) * 1000)
    finally:
        await producer.stop()
        await consumer.stop()
    return latencies


async def run() -> dict[str, Any]:
    """Measure both backends; the top-level figures are the default backend's (Redis)."""
    parts: list[Part] = [Postgres(durable=True), Valkey(durable=True), Kafka()]
    results: dict[str, Any] = {}
    with tempfile.TemporaryDirectory(prefix="ragline-latency-") as tmp, stack(parts) as states:
        endpoints = {
            **states["postgres"].endpoints,
            **states["valkey"].endpoints,
            **states["kafka"].endpoints,
        }
        for backend in ("redis", "kafka"):
            figures = await _pipeline_latency(backend, endpoints, Path(tmp))
            hop = (
                await _redis_hop(endpoints["url"])
                if backend == "redis"
                else await _kafka_hop(endpoints["bootstrap"])
            )
            figures["baseline_broker_hop_p50_ms"] = round(percentile(hop, 0.50), 2)
            figures["baseline_broker_hop_p99_ms"] = round(percentile(hop, 0.99), 2)
            results[backend] = figures
            print(f"latency.{backend}: {figures}", flush=True)
    return {
        "p50_ms": results["redis"]["p50_ms"],
        "p99_ms": results["redis"]["p99_ms"],
        "rate_per_s": RATE_PER_S,
        **results,
        "aim": AIM,
    }
