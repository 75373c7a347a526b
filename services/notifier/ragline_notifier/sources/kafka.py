"""A Kafka topic read in this process's consumer group, and replayed by seeking each partition.

Offsets are committed after each batch was handed to the local subscribers — in the background:
waiting for the group coordinator before the next fetch measured as the largest part of the
delivery latency. At most one commit is in flight, carrying the latest frontier; a failed commit
only means that much more is read again after a restart (and dropped as duplicates). Replays and
look-backs use a short-lived consumer outside any group, assigned the partitions and sought to the
resume position, reading up to the live frontier.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager

from aiokafka import AIOKafkaConsumer, ConsumerRecord, TopicPartition
from aiokafka.errors import KafkaError

from ragline_common.logs import get_logger
from ragline_notifier.events import StreamEvent
from ragline_notifier.positions import Cursor, KafkaCursor

log = get_logger(__name__)
# New partitions and topics are noticed this fast (the client's default is five minutes).
METADATA_MAX_AGE_MS = 5_000
# A replay reads at most up to the live frontier; if that takes longer, the broker is in trouble.
READ_TIMEOUT_SECONDS = 30.0
STOP_TIMEOUT_SECONDS = 5.0
POLL_MS = 200
# The broker holds a fetch this long when it has nothing new. A partition whose records were
# prefetched is left out of the next fetch; its newer records wait for the one in flight to come
# back, so this bounds their delay (the default 500 ms showed as the p99).
FETCH_MAX_WAIT_MS = 20


def _header(headers: dict[str, bytes], name: str) -> str:
    value = headers.get(name)
    return value.decode() if value is not None else ""


def to_event(record: ConsumerRecord[bytes, bytes], cursor: KafkaCursor) -> StreamEvent:
    """Turn one record into an event (a record without a tenant header reaches nobody)."""
    headers = dict(record.headers or ())
    ref = (record.partition, record.offset)
    return StreamEvent(
        ref=ref,
        cursor=cursor,
        event_id=_header(headers, "id") or f"{ref[0]}:{ref[1]}",
        tenant=_header(headers, "tenant"),
        type=_header(headers, "type"),
        key=record.key.decode() if record.key else "",
        user=_header(headers, "user"),
        data=record.value or b"",
    )


async def _stop(consumer: AIOKafkaConsumer) -> None:
    with contextlib.suppress(Exception):
        async with asyncio.timeout(STOP_TIMEOUT_SECONDS):
            await consumer.stop()


class KafkaSource:
    """One topic, one consumer group with this process as its only member."""

    def __init__(self, *, bootstrap_servers: str, topic: str, group: str, client_id: str) -> None:
        self.topic = topic
        self.group = group
        self._bootstrap = bootstrap_servers
        self._client_id = client_id
        self._consumer: AIOKafkaConsumer | None = None
        self._next: dict[int, int] = {}
        self._to_commit: dict[int, int] | None = None
        self._committing: asyncio.Task[None] | None = None

    async def start(self) -> Cursor:
        """Join the group (waiting for the assignment); return the partitions' positions."""
        await self.reset()
        consumer = AIOKafkaConsumer(
            bootstrap_servers=self._bootstrap,
            group_id=self.group,
            client_id=self._client_id,
            enable_auto_commit=False,
            auto_offset_reset="latest",
            metadata_max_age_ms=METADATA_MAX_AGE_MS,
            fetch_max_wait_ms=FETCH_MAX_WAIT_MS,
        )
        consumer.subscribe([self.topic])
        try:
            await consumer.start()  # returns once partitions are assigned
        except BaseException:
            await _stop(consumer)
            raise
        self._consumer = consumer
        self._next = {}
        await self._track_assignment(consumer)
        return KafkaCursor.of(self._next.items())

    def _require(self) -> AIOKafkaConsumer:
        if self._consumer is None:
            raise KafkaError("the consumer is not running")
        return self._consumer

    async def _track_assignment(self, consumer: AIOKafkaConsumer) -> None:
        for tp in consumer.assignment():
            if tp.partition not in self._next:
                self._next[tp.partition] = await consumer.position(tp)

    async def fetch(self, *, count: int, block_ms: int) -> list[StreamEvent]:
        """``getmany``; each event's cursor is the frontier just after it."""
        consumer = self._require()
        batch = await consumer.getmany(timeout_ms=block_ms, max_records=count)
        await self._track_assignment(consumer)
        events: list[StreamEvent] = []
        for tp, records in batch.items():
            for record in records:
                self._next[tp.partition] = record.offset + 1
                events.append(to_event(record, KafkaCursor.of(self._next.items())))
        return events

    async def ack(self, events: Sequence[StreamEvent]) -> None:
        """Have the frontier committed (in the background)."""
        if not events:
            return
        self._to_commit = dict(self._next)
        if self._committing is None or self._committing.done():
            self._committing = asyncio.create_task(self._commit(self._require()))

    async def _commit(self, consumer: AIOKafkaConsumer) -> None:
        while self._to_commit is not None:
            offsets, self._to_commit = self._to_commit, None
            try:
                await consumer.commit(
                    {TopicPartition(self.topic, p): o for p, o in offsets.items()}
                )
            except KafkaError as exc:
                log.warning("offset commit failed; the next one covers it", error=str(exc))
                return

    @asynccontextmanager
    async def _reader(self) -> AsyncIterator[AIOKafkaConsumer]:
        consumer = AIOKafkaConsumer(
            bootstrap_servers=self._bootstrap,
            group_id=None,
            client_id=self._client_id + "-replay",
            enable_auto_commit=False,
            auto_offset_reset="earliest",
        )
        await consumer.start()
        try:
            yield consumer
        finally:
            await _stop(consumer)

    async def read_range(self, since: Cursor, until: Cursor) -> AsyncIterator[list[StreamEvent]]:
        """Seek every partition to ``since`` and read up to ``until``."""
        assert isinstance(since, KafkaCursor)
        assert isinstance(until, KafkaCursor)
        given = since.as_dict()
        # Only the topic's partitions (the frontier's) count; a partition added since the client's
        # position is read from its beginning.
        start = {partition: given.get(partition, 0) for partition in until.as_dict()}
        async for events in self._read(start, until.as_dict()):
            yield events

    async def _read(
        self, start: dict[int, int], end: dict[int, int]
    ) -> AsyncIterator[list[StreamEvent]]:
        todo = {p: TopicPartition(self.topic, p) for p, o in end.items() if start.get(p, 0) < o}
        if not todo:
            return
        position = dict(start)
        async with self._reader() as consumer, asyncio.timeout(READ_TIMEOUT_SECONDS):
            consumer.assign(list(todo.values()))
            for partition, tp in todo.items():
                consumer.seek(tp, start[partition])
            while todo:
                batch = await consumer.getmany(*todo.values(), timeout_ms=POLL_MS)
                events: list[StreamEvent] = []
                for tp, records in batch.items():
                    for record in records:
                        if record.offset >= end[tp.partition]:
                            break
                        position[tp.partition] = record.offset + 1
                        events.append(to_event(record, KafkaCursor.of(position.items())))
                for partition, tp in list(todo.items()):
                    if await consumer.position(tp) >= end[partition]:
                        position[partition] = end[partition]
                        del todo[partition]
                if events:
                    yield events

    async def tail(self, until: Cursor, count: int) -> tuple[list[StreamEvent], bool]:
        """Read the last ``count`` records of each partition up to ``until``."""
        assert isinstance(until, KafkaCursor)
        end = until.as_dict()
        if count <= 0 or not end:
            return [], not end
        begins = await self._beginnings(list(end))
        start = {p: max(begins.get(p, 0), o - count) for p, o in end.items()}
        complete = all(start[p] <= begins.get(p, 0) for p in end)
        events = [event async for chunk in self._read(start, end) for event in chunk]
        return events, complete

    async def _beginnings(self, partitions: list[int]) -> dict[int, int]:
        tps = [TopicPartition(self.topic, p) for p in partitions]
        if self._consumer is not None:
            offsets = await self._consumer.beginning_offsets(tps)
        else:
            async with self._reader() as consumer:
                offsets = await consumer.beginning_offsets(tps)
        return {tp.partition: offset for tp, offset in offsets.items()}

    async def trimmed_after(self, since: Cursor) -> bool:
        """Tell whether retention removed records a resume from ``since`` would need."""
        assert isinstance(since, KafkaCursor)
        wanted = {p: o for p, o in since.as_dict().items() if p in self._next}
        if not wanted:
            return False
        begins = await self._beginnings(list(wanted))
        return any(begins.get(p, 0) > o for p, o in wanted.items())

    def parse(self, text: str) -> Cursor:
        """Parse ``p:o,...``."""
        return KafkaCursor.parse(text)

    async def ping(self) -> None:
        """Ask the broker for the topic list."""
        await self._require().topics()

    async def reset(self) -> None:
        """Leave the group (after the last commit); :meth:`start` joins again."""
        consumer, self._consumer = self._consumer, None
        if self._committing is not None:
            with contextlib.suppress(Exception):
                async with asyncio.timeout(STOP_TIMEOUT_SECONDS):
                    await self._committing
            self._committing = None
        if consumer is not None:
            await _stop(consumer)

    async def close(self) -> None:
        """Leave the group."""
        await self.reset()
