"""Publishing to a Kafka topic with an idempotent producer (``acks=all``), keyed by aggregate id.

The key keeps one aggregate's events in one partition, in order. An event refused for its own
content (too large) is retried later; the aggregate's next events in the batch are then not sent,
so they cannot overtake it. (A refusal reported only in the acknowledgement comes too late for
that; Kafka's refusals of size are per produce batch, which holds the key's later events too.)

The relay builds the produce batches itself, one per partition (partition chosen as every Kafka
client chooses it for the key), rather than calling ``send()`` per event: per-event coroutines,
futures and aiokafka's pure-Python hash were most of the publishing time.

The idempotent producer keeps its own retries from duplicating or reordering messages; after a
failed batch the producer is replaced, so a long outage cannot leave it wedged on stale sequence
numbers. The CloudEvent is the value as the API wrote it; id, tenant, type and user travel as
headers.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Sequence
from typing import Any

from aiokafka import AIOKafkaProducer
from aiokafka.errors import (
    CorruptRecordException,
    KafkaError,
    MessageSizeTooLargeError,
    RecordListTooLargeError,
    RecordTooLargeError,
)
from aiokafka.record.default_records import DefaultRecordBatchBuilder

from ragline_relay.messages import Message
from ragline_relay.publishers.base import BrokerError, HeldBackError
from ragline_relay.publishers.partitioning import partition_index

# Errors about one record's content: retrying the batch would not help, so only that event is
# retried (and eventually dead-lettered). Every other error fails the whole batch.
PER_EVENT_ERRORS: tuple[type[BaseException], ...] = (
    MessageSizeTooLargeError,
    RecordTooLargeError,
    RecordListTooLargeError,
    CorruptRecordException,
)
# One produce batch per partition holds up to this much before another is started.
MAX_BATCH_BYTES = 512 * 1024
Header = tuple[str, bytes]


# A produce batch handed to the producer: the indices of its events, and its acknowledgement.
_Sent = tuple[list[int], asyncio.Future[Any]]


class _Batches:
    """The open produce batch of each partition, handed to the producer when full or at the end.

    One ``BatchBuilder`` per partition instead of one ``send()`` per event: no coroutine, future
    and partition lookup per event, and one acknowledgement to await per batch. A partition's
    batches are handed over in order, so a key's events stay in order.
    """

    def __init__(self, *, producer: AIOKafkaProducer, topic: str, sent: list[_Sent]) -> None:
        self._producer = producer
        self._topic = topic
        self._sent = sent
        self._open: dict[int, tuple[Any, list[int]]] = {}

    async def add(
        self, index: int, partition: int, *, key: bytes, value: bytes, headers: list[Header]
    ) -> None:
        """Append event ``index`` to its partition's batch (handing over a full one first)."""
        builder, indices = self._open.get(partition) or self._new(partition)
        if builder.append(key=key, value=value, timestamp=None, headers=headers) is None:
            await self._send(partition)
            builder, indices = self._new(partition)
            # A new batch always takes its first record, however big (up to the request size).
            builder.append(key=key, value=value, timestamp=None, headers=headers)
        indices.append(index)

    async def send_all(self) -> None:
        """Hand every open batch to the producer."""
        for partition in list(self._open):
            await self._send(partition)

    def _new(self, partition: int) -> tuple[Any, list[int]]:
        self._open[partition] = (self._producer.create_batch(), [])
        return self._open[partition]

    async def _send(self, partition: int) -> None:
        builder, indices = self._open.pop(partition)
        if not indices:
            return
        builder.close()
        future = await self._producer.send_batch(builder, self._topic, partition=partition)
        self._sent.append((indices, future))


def _retrieve(future: asyncio.Future[object]) -> None:
    """Mark an abandoned send's outcome as seen (no "exception never retrieved" noise)."""
    if not future.cancelled():
        future.exception()


class KafkaPublisher:
    """An idempotent producer for one topic, (re)started on demand."""

    backend = "kafka"

    def __init__(
        self,
        *,
        bootstrap_servers: str,
        topic: str,
        linger_ms: int,
        max_request_bytes: int,
        timeout_seconds: float,
        client_id: str,
    ) -> None:
        self.topic = topic
        self._bootstrap = bootstrap_servers
        self._linger_ms = linger_ms
        self._max_request_bytes = max_request_bytes
        self._timeout = timeout_seconds
        self._client_id = client_id
        self._producer: AIOKafkaProducer | None = None
        # Concurrent batches must not each start a producer of their own.
        self._starting = asyncio.Lock()

    async def _ensure(self) -> AIOKafkaProducer:
        if self._producer is not None:
            return self._producer
        async with self._starting:
            if self._producer is None:
                self._producer = await self._start()
            return self._producer

    async def _start(self) -> AIOKafkaProducer:
        producer = AIOKafkaProducer(
            bootstrap_servers=self._bootstrap,
            client_id=self._client_id,
            enable_idempotence=True,
            acks="all",
            linger_ms=self._linger_ms,
            max_batch_size=MAX_BATCH_BYTES,
            max_request_size=self._max_request_bytes,
            request_timeout_ms=int(self._timeout * 1000),
        )
        try:
            await producer.start()
        except (KafkaError, OSError) as exc:
            await self._stop(producer)
            raise BrokerError(f"kafka: cannot start the producer: {exc}") from exc
        return producer

    async def publish(self, messages: Sequence[Message]) -> list[BaseException | None]:
        """Send ``messages`` and wait until the broker acknowledged each of them."""
        producer = await self._ensure()
        results: list[BaseException | None] = [None] * len(messages)
        sent: list[_Sent] = []
        try:
            partitions = sorted(await producer.partitions_for(self.topic))
            batches = _Batches(producer=producer, topic=self.topic, sent=sent)
            refused: set[str] = set()  # aggregates whose next events must not overtake a refusal
            for index, m in enumerate(messages):
                if m.key in refused:
                    results[index] = HeldBackError(m.key)
                    continue
                key = m.key.encode()
                headers = [
                    ("id", m.event_id.encode()),
                    ("tenant", m.tenant.encode()),
                    ("type", m.type.encode()),
                    ("user", m.user.encode()),
                ]
                size = DefaultRecordBatchBuilder.estimate_size_in_bytes(key, m.data, headers)
                if size > self._max_request_bytes:
                    # What the producer's own send() refuses (before sending anything).
                    results[index] = MessageSizeTooLargeError(
                        f"the event is {size} bytes serialized, more than max_request_size"
                    )
                    refused.add(m.key)
                    continue
                partition = partitions[partition_index(key, len(partitions))]
                await batches.add(index, partition, key=key, value=m.data, headers=headers)
            await batches.send_all()
            await self._acknowledged(sent, results)
        except (KafkaError, OSError) as exc:
            for _, future in sent:
                future.add_done_callback(_retrieve)
            raise BrokerError(f"kafka: {type(exc).__name__}: {exc}") from exc
        return results

    @staticmethod
    async def _acknowledged(sent: list[_Sent], results: list[BaseException | None]) -> None:
        """Wait for every batch's acknowledgement; a batch the broker refused for its content
        (one produce batch is accepted or refused whole) refuses each of its events."""
        for indices, future in sent:
            try:
                await future
            except PER_EVENT_ERRORS as exc:
                for index in indices:
                    results[index] = exc

    async def ping(self) -> None:
        """Start the producer if needed and fetch the topic's partitions."""
        producer = await self._ensure()
        await producer.partitions_for(self.topic)

    async def reset(self) -> None:
        """Throw the producer away; the next batch starts a new one."""
        producer, self._producer = self._producer, None
        if producer is not None:
            await self._stop(producer)

    async def _stop(self, producer: AIOKafkaProducer) -> None:
        # Stopping flushes what is queued, which hangs while the broker is away: bound it.
        with contextlib.suppress(Exception):
            async with asyncio.timeout(self._timeout):
                await producer.stop()

    async def close(self) -> None:
        """Stop the producer."""
        await self.reset()
