"""Real pipelines per test: an outbox database, a stream of its own on the session's Valkey or
Kafka, a tenant registry on disk, and the relay and notifier as ``python -m`` processes."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, cast

import asyncpg
import pytest
from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from redis.asyncio import Redis

from ragline_common.registry import TenantState
from tests.integration.pipeline.support import Service, Tenants, create_outbox, free_port

# Several partitions, so the Kafka tests exercise positions that span partitions.
KAFKA_PARTITIONS = 3
# The whole stream is read in pages, each given far more time than it needs: on a loaded
# machine one XRANGE of the whole stream once missed redis-py's default 5 s socket timeout.
XRANGE_PAGE = 500
XRANGE_TIMEOUT_SECONDS = 30.0


@dataclass
class Broker:
    """One stream (Redis) or topic (Kafka) of its own."""

    backend: str
    stream: str
    redis_url: str = ""
    bootstrap: str = ""

    def env(self, prefix: str) -> dict[str, str]:
        if self.backend == "redis":
            return {
                f"{prefix}BACKEND": "redis",
                f"{prefix}REDIS_URL": self.redis_url,
                f"{prefix}REDIS_STREAM": self.stream,
            }
        return {
            f"{prefix}BACKEND": "kafka",
            f"{prefix}KAFKA_BOOTSTRAP_SERVERS": self.bootstrap,
            f"{prefix}KAFKA_TOPIC": self.stream,
        }

    async def entries(self) -> list[dict[str, Any]]:
        """Every entry of the stream: ``{"id", "key", "tenant", "partition"}``, in stream order
        (per partition for Kafka)."""
        if self.backend == "redis":
            return await _redis_entries(self.redis_url, self.stream)
        return await _kafka_entries(self.bootstrap, self.stream)


async def _kafka_entries(bootstrap: str, topic: str) -> list[dict[str, Any]]:
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False)
    await consumer.start()
    try:
        partitions = [TopicPartition(topic, p) for p in range(KAFKA_PARTITIONS)]
        consumer.assign(partitions)
        await consumer.seek_to_beginning(*partitions)
        ends = await consumer.end_offsets(partitions)
        entries: list[dict[str, Any]] = []
        while [tp for tp in partitions if await consumer.position(tp) < ends[tp]]:
            batch = await consumer.getmany(timeout_ms=500)
            for tp, records in batch.items():
                for record in records:
                    headers = dict(record.headers)
                    entries.append(
                        {
                            "id": headers["id"].decode(),
                            "key": (record.key or b"").decode(),
                            "partition": tp.partition,
                        }
                    )
        return entries
    finally:
        await consumer.stop()


@pytest.fixture(params=["redis", "kafka"])
def backend(request: pytest.FixtureRequest) -> str:
    """Each pipeline test runs once per broker."""
    param: str = request.param
    return param


@pytest.fixture
async def broker(backend: str, request: pytest.FixtureRequest) -> Broker:
    """A fresh stream or topic on the session's broker."""
    name = f"t-{uuid.uuid4().hex[:12]}"
    if backend == "redis":
        return Broker(backend, stream=name, redis_url=request.getfixturevalue("redis_url"))
    bootstrap: str = request.getfixturevalue("kafka_bootstrap")
    await create_topic(bootstrap, name)
    return Broker(backend, stream=name, bootstrap=bootstrap)


async def create_topic(bootstrap: str, name: str, partitions: int = KAFKA_PARTITIONS) -> None:
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        await admin.create_topics(
            [NewTopic(name=name, num_partitions=partitions, replication_factor=1)]
        )
    finally:
        await admin.close()


@pytest.fixture
def tenants(tmp_path: Path) -> Tenants:
    """acme and globex (active), initech (suspended)."""
    registry = Tenants(directory=tmp_path / "registry")
    registry.directory.mkdir()
    registry.add("acme")
    registry.add("globex")
    registry.add("initech", state=TenantState.SUSPENDED)
    return registry


@pytest.fixture
async def outbox_dsn(fresh_database: str) -> str:
    """A fresh database with the outbox table and its NOTIFY trigger."""
    await create_outbox(fresh_database)
    return fresh_database


@pytest.fixture
async def db(outbox_dsn: str) -> AsyncIterator[asyncpg.Connection]:
    """A connection to the outbox database (the API's side: it inserts rows)."""
    conn = await asyncpg.connect(outbox_dsn)
    try:
        yield conn
    finally:
        await conn.close()


@dataclass
class Pipeline:
    """Builds relay and notifier processes wired to one outbox, broker and registry."""

    broker: Broker
    tenants: Tenants
    dsn: str
    logs: Path
    services: list[Service] = field(default_factory=list)

    def _service(self, module: str, prefix: str, env: dict[str, str]) -> Service:
        port = free_port()
        common = {
            f"{prefix}HOST": "127.0.0.1",
            f"{prefix}PORT": str(port),
            f"{prefix}REGISTRY_PATH": str(self.tenants.registry_path),
            f"{prefix}KEYS_DIR": str(self.tenants.keys_dir),
            f"{prefix}REGISTRY_RELOAD_SECONDS": "0",
            f"{prefix}ACCESS_LOG": "false",
            f"{prefix}LOG_JSON": "false",
        }
        service = Service(
            module=module,
            env={**common, **self.broker.env(prefix), **env},
            log=self.logs / f"{module}-{len(self.services)}.log",
            port=port,
        )
        self.services.append(service)
        return service

    def relay(self, **settings: Any) -> Service:
        """A relay process (not started); ``settings`` override RAGLINE_RELAY_* fields."""
        prefix = "RAGLINE_RELAY_"
        env = {
            f"{prefix}DATABASE_URL": self.dsn,
            f"{prefix}STATS_INTERVAL_SECONDS": "0.2",
            f"{prefix}POLL_INTERVAL_SECONDS": "0.25",
            **{prefix + k.upper(): str(v) for k, v in settings.items()},
        }
        return self._service("ragline_relay", prefix, env)

    def notifier(self, **settings: Any) -> Service:
        """A notifier process (not started); ``settings`` override RAGLINE_NOTIFIER_* fields."""
        prefix = "RAGLINE_NOTIFIER_"
        env = {
            f"{prefix}INSTANCE_ID": f"test-{uuid.uuid4().hex[:8]}",
            f"{prefix}HEARTBEAT_SECONDS": "1",
            f"{prefix}FETCH_BLOCK_MS": "500",
            f"{prefix}SWEEP_SECONDS": "0.2",
            **{prefix + k.upper(): str(v) for k, v in settings.items()},
        }
        return self._service("ragline_notifier", prefix, env)

    def stop(self) -> None:
        for service in reversed(self.services):
            service.stop()


@pytest.fixture
def pipeline(
    broker: Broker, tenants: Tenants, outbox_dsn: str, tmp_path: Path
) -> Iterator[Pipeline]:
    """The test's relays and notifiers, stopped at the end (their logs printed on failure)."""
    built = Pipeline(broker=broker, tenants=tenants, dsn=outbox_dsn, logs=tmp_path / "logs")
    try:
        yield built
    finally:
        built.stop()
        for service in built.services:
            print(f"--- {service.log.name} ---\n{service.tail(60)}")


async def _redis_entries(url: str, stream: str) -> list[dict[str, Any]]:
    client = Redis.from_url(url, socket_timeout=XRANGE_TIMEOUT_SECONDS)
    entries: list[dict[str, Any]] = []
    start = "-"
    try:
        while page := cast(Any, await client.xrange(stream, min=start, count=XRANGE_PAGE)):
            entries += [
                {"id": f[b"id"].decode(), "key": f[b"key"].decode(), "partition": 0}
                for _, f in page
            ]
            start = "(" + page[-1][0].decode()  # exclusive: after the last entry read
    finally:
        await client.aclose()
    return entries
