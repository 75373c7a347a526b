"""A session replays exactly what a client missed, then goes live, over an in-memory stream."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable

from ragline_notifier.dedup import Dedup
from ragline_notifier.events import StreamEvent
from ragline_notifier.hub import Hub
from ragline_notifier.metrics import NotifierMetrics
from ragline_notifier.positions import Cursor, RedisCursor
from ragline_notifier.session import GAP_DETAIL, Replay, Session
from ragline_notifier.subscriber import EXPIRED, Closing, Interest, Subscriber
from tests.unit.notifier.helpers import event


class ListStream:
    """The part of a stream source a session uses, over a list of Redis-positioned events."""

    def __init__(self, events: list[StreamEvent], *, trimmed_up_to: int = 0) -> None:
        self.events = events
        self.trimmed_up_to = trimmed_up_to
        self.tail_reads = 0

    def _seq(self, cursor: Cursor) -> int:
        assert isinstance(cursor, RedisCursor)
        return cursor.seq

    async def read_range(self, since: Cursor, until: Cursor) -> AsyncIterator[list[StreamEvent]]:
        low, high = self._seq(since), self._seq(until)
        chunk = [e for e in self.events if low < self._seq(e.cursor) <= high]
        for start in range(0, len(chunk), 2):
            yield chunk[start : start + 2]

    async def tail(self, until: Cursor, count: int) -> tuple[list[StreamEvent], bool]:
        self.tail_reads += 1
        older = [e for e in self.events if self._seq(e.cursor) <= self._seq(until)]
        return older[-count:], len(older) <= count

    async def trimmed_after(self, since: Cursor) -> bool:
        return self._seq(since) < self.trimmed_up_to


class Recorder:
    """A writer that remembers what the client would have received."""

    def __init__(self) -> None:
        self.sent: list[str] = []
        self.notices: list[tuple[str, str]] = []
        self.heartbeats: list[str | None] = []
        self.closed: Closing | None = None
        self.changed = asyncio.Event()

    async def until(self, done: Callable[[], bool]) -> None:
        async with asyncio.timeout(5):
            while not done():
                self.changed.clear()
                await self.changed.wait()

    async def events(self, events: list[StreamEvent]) -> None:
        self.sent += [e.event_id for e in events]
        self.changed.set()

    async def heartbeat(self, position: str | None) -> None:
        self.heartbeats.append(position)
        self.changed.set()

    async def notice(self, kind: str, detail: str) -> None:
        self.notices.append((kind, detail))

    async def close(self, closing: Closing) -> None:
        self.closed = closing


def setup(
    stream: ListStream, *, dedup: Dedup | None = None, live_from: int = 0
) -> tuple[Hub, Subscriber, Session]:
    """A hub that has dispatched the stream from entry ``live_from`` on, and a client resuming
    from entry 2."""
    hub = Hub(dedup=dedup or Dedup(capacity=100, margin=0), metrics=NotifierMetrics.create())
    hub.dispatch(stream.events[live_from:])
    subscriber = Subscriber(
        Interest(tenant="acme"), limit=100, transport="SSE", expires_at=float("inf")
    )
    until = hub.add(subscriber)
    assert until is not None
    session = Session(
        hub=hub,
        source=stream,  # type: ignore[arg-type]
        subscriber=subscriber,
        metrics=NotifierMetrics.create(),
        lookback=10,
        replay_slots=asyncio.Semaphore(1),
        replay=Replay(since=RedisCursor(1000, 2), until=until),
    )
    return hub, subscriber, session


async def serve_until(session: Session, writer: Recorder, last: str) -> None:
    task = asyncio.create_task(session.serve(writer))
    await writer.until(lambda: last in writer.sent)
    session.subscriber.leave()
    await task


async def test_the_replay_sends_the_tenants_missed_events_then_live_ones_follow() -> None:
    stream = ListStream(
        [event(1), event(2), event(3), event(4, tenant="globex"), event(5), event(6, key="o2")]
    )
    hub, _, session = setup(stream)
    writer = Recorder()
    task = asyncio.create_task(session.serve(writer))
    await asyncio.sleep(0.05)
    hub.dispatch([event(7)])
    await writer.until(lambda: len(writer.sent) >= 4)
    session.subscriber.leave()
    await task
    assert writer.sent == ["e3", "e5", "e6", "e7"]
    assert writer.notices == []


async def test_copies_in_the_missed_range_are_sent_once() -> None:
    stream = ListStream([event(1), event(2), event(3, event_id="x"), event(4, event_id="x")])
    _, _, session = setup(stream)
    writer = Recorder()
    await serve_until(session, writer, "x")
    assert writer.sent == ["x"]


async def test_a_resume_older_than_the_memory_looks_back_for_copies() -> None:
    # The client saw "a" (entry 1) from an earlier notifier; this one started at entry 2, so it
    # takes entry 3, a copy, for the first "a".
    stream = ListStream([event(1, event_id="a"), event(2), event(3, event_id="a"), event(4)])
    dedup = Dedup(capacity=100, margin=1)
    dedup.start(stream.events[1:2], complete=False, frontier=RedisCursor(1000, 2))
    _, _, session = setup(stream, dedup=dedup, live_from=2)
    writer = Recorder()
    await serve_until(session, writer, "e4")
    assert stream.tail_reads == 1
    assert writer.sent == ["e4"]


async def test_a_resume_past_trimmed_entries_is_told_of_the_gap() -> None:
    stream = ListStream([event(5), event(6)], trimmed_up_to=4)
    _, _, session = setup(stream)
    writer = Recorder()
    await serve_until(session, writer, "e6")
    assert writer.notices == [("gap", GAP_DETAIL)]
    assert writer.sent == ["e5", "e6"]


async def test_an_idle_session_beats_with_the_frontier_and_closes_with_a_reason() -> None:
    stream = ListStream([event(1), event(2), event(3, tenant="globex")])
    hub, subscriber, session = setup(stream)
    writer = Recorder()
    task = asyncio.create_task(session.serve(writer))
    hub.tick()
    await writer.until(lambda: bool(writer.heartbeats))
    hub.close(subscriber, EXPIRED)
    await task
    assert writer.sent == []
    assert writer.heartbeats[0] == "1000-3"
    assert writer.closed is EXPIRED
    assert hub.size == 0


async def test_a_client_sent_events_since_the_last_tick_gets_no_heartbeat() -> None:
    stream = ListStream([event(1), event(2)])
    hub, _, session = setup(stream)
    writer = Recorder()
    task = asyncio.create_task(session.serve(writer))
    hub.tick()  # idle since it connected: beats
    await writer.until(lambda: len(writer.heartbeats) == 1)
    hub.dispatch([event(3)])
    await writer.until(lambda: writer.sent == ["e3"])
    hub.tick()  # it was written to: no beat
    hub.dispatch([event(4)])
    await writer.until(lambda: writer.sent == ["e3", "e4"])
    hub.tick()
    hub.tick()  # a whole period with nothing written: beats again
    await writer.until(lambda: len(writer.heartbeats) == 2)
    session.subscriber.leave()
    await task
