"""Publishing to a Kafka topic with an idempotent producer (``acks=all``), keyed by aggregate id.

The key keeps one aggregate's events in one partition, in order. An event refused for its own
content (too large) is retried later; the aggregate's next events in the batch are then not sent,
so they cannot overtake it. (A refusal reported only in the acknowledgement comes too late for
that; Kafka's refusals of size are per produce batch, which holds the key's later events too.)

The idempotent producer keeps its own retries from duplicating or reordering messages; after a
failed batch the producer is replaced, so a long outage cannot leave it wedged on stale sequence
numbers. The CloudEvent is the value as the API wrote it; id, tenant, type and user travel as
headers.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Sequence

from aiokafka import AIOKafkaProducer
from aiokafka.errors import (
    CorruptRecordException,
    KafkaError,
    MessageSizeTooLargeError,
    RecordListTooLargeError,
    RecordTooLargeError,
)

from ragline_relay.messages import Message
from ragline_relay.publishers.base import BrokerError, HeldBackError

# Errors about one record's content: retrying the batch would not help, so only that event is
# retried (and eventually dead-lettered). Every other error fails the whole batch.
PER_EVENT_ERRORS: tuple[type[BaseException], ...] = (
    MessageSizeTooLargeError,
    RecordTooLargeError,
    RecordListTooLargeError,
    CorruptRecordException,
)
# A producer accumulates one batch per partition up to this size before sending it.
MAX_BATCH_BYTES = 512 * 1024


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
        sent: list[tuple[int, asyncio.Future[object]]] = []
        refused: set[str] = set()  # aggregates whose next events must not overtake a refusal
        try:
            for index, m in enumerate(messages):
                if m.key in refused:
                    results[index] = HeldBackError(m.key)
                    continue
                try:
                    future = await producer.send(
                        self.topic,
                        value=m.data,
                        key=m.key.encode(),
                        headers=[
                            ("id", m.event_id.encode()),
                            ("tenant", m.tenant.encode()),
                            ("type", m.type.encode()),
                            ("user", m.user.encode()),
                        ],
                    )
                except PER_EVENT_ERRORS as exc:
                    results[index] = exc
                    refused.add(m.key)
                    continue
                sent.append((index, future))
            await self._acknowledged(sent, results)
        except (KafkaError, OSError) as exc:
            for _, future in sent:
                future.add_done_callback(_retrieve)
            raise BrokerError(f"kafka: {type(exc).__name__}: {exc}") from exc
        return results

    @staticmethod
    async def _acknowledged(
        sent: list[tuple[int, asyncio.Future[object]]], results: list[BaseException | None]
    ) -> None:
        """Wait for every acknowledgement, recording per-event refusals in ``results``.

        One by one rather than with ``gather``: the broker acknowledges a partition's batch at
        once, so most awaits find their future done, and gather's per-future callbacks cost more.
        """
        for index, future in sent:
            try:
                await future
            except PER_EVENT_ERRORS as exc:
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
