"""Lag readers: turn a broker's offsets into a :class:`LagReading` per consumer group.

Kafka: per partition, the log end (the last stable offset, so open transactions don't count) minus
the group's committed offset. A partition the group never committed follows ``uncommitted``:
``earliest`` counts everything still retained (what a new consumer would read), ``latest`` counts
nothing (it would start at the end).

Redis Streams: ``XINFO GROUPS`` lag (entries never delivered to the group) plus its pending entries
(delivered, not yet acknowledged). When Redis cannot compute the lag (entries were deleted or
trimmed past the group), the entries after the group's last delivered id are counted instead. A
missing stream or group is created when asked, else reported; neither crashes the reader. A missing
Kafka topic is always reported, never created: the reader asks for every topic's metadata rather
than the one topic's, which a broker with ``auto.create.topics.enable`` would create.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, Protocol

import redis.asyncio as redis
from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.errors import KafkaError

from ragline_operator.scaling.policy import LagReading, PartitionLag

# A reading that takes longer than this is a failed reading: the policy then holds replicas.
READ_TIMEOUT_SECONDS = 10.0
# Counting entries by hand (when Redis reports no lag) stops here; beyond it lag is "at least".
MAX_COUNTED_ENTRIES = 1_000_000
RETRY_DELAY_SECONDS = 0.1


class LagReadError(RuntimeError):
    """The lag could not be read; the message says why in terms a user can act on."""


class Uncommitted(StrEnum):
    """How a partition without a committed offset counts."""

    EARLIEST = "earliest"
    LATEST = "latest"


class LagReader(Protocol):
    """Reads one consumer group's lag on one stream."""

    async def read(self, *, stream: str, group: str) -> LagReading:
        """Return the group's lag now, or raise :class:`LagReadError`."""
        ...

    async def close(self) -> None:
        """Release connections."""
        ...


@dataclass
class RedisLagReader:
    """Lag of a Redis Streams consumer group."""

    client: redis.Redis
    create_missing: bool = True

    @classmethod
    def from_url(cls, url: str, *, create_missing: bool = True) -> RedisLagReader:
        """A reader with its own connection pool."""
        return cls(redis.from_url(url, decode_responses=True), create_missing=create_missing)

    async def _groups(self, stream: str) -> list[dict[str, Any]]:
        try:
            groups: list[dict[str, Any]] = await self.client.xinfo_groups(stream)
        except redis.ResponseError as exc:
            if "no such key" not in str(exc).lower():
                raise
            return []
        return groups

    async def read(self, *, stream: str, group: str) -> LagReading:
        """Return lag + pending of ``group`` on ``stream`` as a one-partition reading."""
        try:
            info = next((g for g in await self._groups(stream) if g["name"] == group), None)
            if info is None:
                if not self.create_missing:
                    raise LagReadError(f"consumer group {group!r} does not exist on {stream!r}")
                await self.client.xgroup_create(stream, group, id="$", mkstream=True)
                return LagReading(
                    partitions={stream: PartitionLag(lag=0, position=0)}, partition_count=1
                )
            lag = info.get("lag")
            if lag is None:
                entries = await self.client.xrange(
                    stream, min=f"({info['last-delivered-id']}", max="+", count=MAX_COUNTED_ENTRIES
                )
                lag = len(entries or [])
            position = info.get("entries-read")
            if position is None:
                position = info["last-delivered-id"]
        except (redis.RedisError, OSError) as exc:
            raise LagReadError(f"Redis: {exc}") from exc
        return LagReading(
            partitions={
                stream: PartitionLag(lag=int(lag) + int(info["pending"]), position=position)
            },
            partition_count=1,
        )

    async def close(self) -> None:
        """Close the connection pool."""
        await self.client.aclose()


@dataclass
class KafkaLagReader:
    """Lag of a Kafka consumer group, per partition."""

    admin: AIOKafkaAdminClient
    offsets: AIOKafkaConsumer
    uncommitted: Uncommitted = Uncommitted.EARLIEST

    @classmethod
    async def connect(
        cls, bootstrap: str, *, uncommitted: Uncommitted = Uncommitted.EARLIEST
    ) -> KafkaLagReader:
        """Start an admin client and a group-less, read-committed consumer for offsets."""
        admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap, request_timeout_ms=5000)
        offsets = AIOKafkaConsumer(
            bootstrap_servers=bootstrap,
            enable_auto_commit=False,
            isolation_level="read_committed",
            request_timeout_ms=5000,
        )
        try:
            async with asyncio.timeout(READ_TIMEOUT_SECONDS):
                await admin.start()
                await offsets.start()
        except Exception as exc:  # an unreachable broker is a failed reading, not a crash
            await offsets.stop()
            await admin.close()
            raise LagReadError(f"Kafka at {bootstrap} is unreachable: {exc}") from exc
        return cls(admin=admin, offsets=offsets, uncommitted=uncommitted)

    async def _partitions(self, topic: str) -> list[TopicPartition]:
        # Metadata of *all* topics: a metadata request naming the topic would make a broker with
        # auto.create.topics.enable (the default) create it, with default settings, just because
        # its lag was read. A missing topic is reported instead (the reconcile pass creates it).
        described = {t["topic"]: t for t in await self.admin.describe_topics(None)}
        description = described.get(topic)
        if description is None:
            raise LagReadError(f"Kafka topic {topic!r} does not exist")
        if description.get("error_code"):
            raise LagReadError(
                f"Kafka topic {topic!r} is not available (error {description['error_code']})"
            )
        return [TopicPartition(topic, p["partition"]) for p in description["partitions"]]

    async def _offsets(
        self, partitions: list[TopicPartition], group: str
    ) -> tuple[dict[TopicPartition, Any], dict[TopicPartition, int], dict[TopicPartition, int]]:
        delay = RETRY_DELAY_SECONDS
        while True:
            try:
                committed = await self.admin.list_consumer_group_offsets(
                    group, partitions=partitions
                )
                break
            except KafkaError as exc:
                # A fresh broker answers "coordinator not available" until it has created its
                # offsets topic; that and other retriable errors are waited out (within the
                # reading's deadline), anything else fails the reading at once.
                if not exc.retriable:
                    raise
                await asyncio.sleep(delay)
                delay = min(delay * 2, 1.0)
        ends = await self.offsets.end_offsets(partitions)
        starts = await self.offsets.beginning_offsets(partitions)
        return committed, ends, starts

    async def read(self, *, stream: str, group: str) -> LagReading:
        """Return the group's lag on every partition of topic ``stream``."""
        try:
            async with asyncio.timeout(READ_TIMEOUT_SECONDS):
                partitions = await self._partitions(stream)
                committed, ends, starts = await self._offsets(partitions, group)
        except LagReadError:
            raise
        except Exception as exc:  # any broker failure is a failed reading
            raise LagReadError(f"Kafka: {type(exc).__name__}: {exc}") from exc
        result: dict[str, PartitionLag] = {}
        for tp in partitions:
            offset = committed.get(tp)
            position = offset.offset if offset is not None and offset.offset >= 0 else None
            if position is None:
                base = starts[tp] if self.uncommitted is Uncommitted.EARLIEST else ends[tp]
            else:
                # A commit below the log start (retention deleted it) reads from the start.
                base = max(position, starts[tp])
            result[str(tp.partition)] = PartitionLag(lag=max(0, ends[tp] - base), position=position)
        return LagReading(partitions=result, partition_count=len(partitions))

    async def close(self) -> None:
        """Stop both clients."""
        await self.offsets.stop()
        await self.admin.close()
