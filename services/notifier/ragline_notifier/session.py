"""One client's session, the same for SSE and WebSocket: replay what it missed, then go live.

A resuming client is registered with the hub first; registration returns the hub's frontier
``until`` (atomically: the hub dispatches without awaiting). Live events from then on are after
``until`` and wait in the client's queue; the replay sends the entries after the client's position
up to ``until`` straight from the stream. Together they are exactly the missed events, in order,
with no overlap. Copies of an event are dropped in the replay as they are live
(:mod:`ragline_notifier.dedup`), and a client resuming past trimmed entries is told so (``gap``).

A client that was sent nothing for a heartbeat period gets a heartbeat (the hub's ticker asks for
it), carrying the frontier as the position: the client's resume point advances even when none of
the traffic is for it, so a later resume reads less.
"""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import dataclass
from typing import Protocol

from ragline_common.logs import get_logger
from ragline_notifier.events import StreamEvent
from ragline_notifier.hub import Hub
from ragline_notifier.metrics import NotifierMetrics
from ragline_notifier.positions import Cursor
from ragline_notifier.sources.base import BROKER_ERRORS, StreamSource
from ragline_notifier.subscriber import UNAVAILABLE, Closing, Subscriber

log = get_logger(__name__)
# A closing message to a client that does not read is abandoned after this long.
CLOSE_GRACE_SECONDS = 5.0
GAP_DETAIL = "events after the given position were trimmed from the stream and cannot be replayed"


class ClientGoneError(Exception):
    """Writing failed because the client is no longer there."""


class Writer(Protocol):
    """How a transport writes to its client."""

    async def events(self, events: list[StreamEvent]) -> None:
        """Send events, in order."""
        ...

    async def heartbeat(self, position: str | None) -> None:
        """Keep the connection alive, advancing the client's position."""
        ...

    async def notice(self, kind: str, detail: str) -> None:
        """Tell the client something about the stream (``gap``)."""
        ...

    async def close(self, closing: Closing) -> None:
        """Say why the server ends the connection, and end it."""
        ...


@dataclass
class Replay:
    """Where a resuming client's replay starts and ends."""

    since: Cursor
    until: Cursor


@dataclass
class Session:
    """One client connection's life."""

    hub: Hub
    source: StreamSource
    subscriber: Subscriber
    metrics: NotifierMetrics
    lookback: int
    replay_slots: asyncio.Semaphore
    replay: Replay | None = None

    def start_position(self) -> str | None:
        """Where the client stands now: its resume position, else the frontier it joined at."""
        if self.replay is not None:
            return self.replay.since.encode()
        frontier = self.hub.frontier
        return frontier.encode() if frontier is not None else None

    async def serve(self, writer: Writer) -> None:
        """Run until the client leaves or the server closes the session."""
        try:
            if self.replay is not None:
                try:
                    await self._replay(writer, self.replay)
                except BROKER_ERRORS as exc:
                    log.warning("replay failed; closing the session", error=str(exc))
                    self.hub.close(self.subscriber, UNAVAILABLE)
            await self._live(writer)
        except ClientGoneError:
            pass
        finally:
            self.hub.remove(self.subscriber)

    async def _live(self, writer: Writer) -> None:
        subscriber = self.subscriber
        while not subscriber.gone:
            if subscriber.closing is not None:
                with contextlib.suppress(TimeoutError, ClientGoneError):
                    async with asyncio.timeout(CLOSE_GRACE_SECONDS):
                        await writer.close(subscriber.closing)
                return
            events = subscriber.take()
            if events:
                subscriber.quiet = False
                await writer.events(events)
            elif subscriber.beat:
                # The queue is empty: every event before the frontier was sent or not wanted.
                subscriber.beat = False
                subscriber.quiet = False
                frontier = self.hub.frontier
                await writer.heartbeat(frontier.encode() if frontier is not None else None)
            else:
                subscriber.wakeup.clear()
                await subscriber.wakeup.wait()

    async def _replay(self, writer: Writer, replay: Replay) -> None:
        async with self.replay_slots:
            if await self.source.trimmed_after(replay.since):
                await writer.notice("gap", GAP_DETAIL)
            seen: set[str] = set()
            if not self.hub.dedup.covers(replay.since):
                earlier, _ = await self.source.tail(replay.since, self.lookback)
                seen.update(event.event_id for event in earlier)
            async for chunk in self.source.read_range(replay.since, replay.until):
                if self.subscriber.gone or self.subscriber.closing is not None:
                    return
                missed = [event for event in chunk if self._missed(event, seen)]
                if missed:
                    await writer.events(missed)
                    self.metrics.replayed.inc(len(missed))

    def _missed(self, event: StreamEvent, seen: set[str]) -> bool:
        """``seen`` holds the ids looked back at before the replay and those replayed so far:
        they outrank the memory, which may not know where an old event was first."""
        interest = self.subscriber.interest
        if event.tenant != interest.tenant or event.event_id in seen:
            return False
        if self.hub.dedup.verdict(event) is False:
            return False
        seen.add(event.event_id)
        return interest.wants(event)
