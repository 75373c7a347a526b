"""One connected client: what it wants to see, and its bounded queue of events to send.

The hub only ever appends to the queue and never waits for a client: a client whose queue is full
(it reads slower than its events arrive) is closed with a reason and dropped, so it cannot slow
the others or hold the memory of a growing backlog.
"""

from __future__ import annotations

import asyncio
from collections import deque
from dataclasses import dataclass

from ragline_notifier.events import StreamEvent
from ragline_notifier.positions import Cursor, seen_by


@dataclass(frozen=True)
class Closing:
    """Why the server ends a connection: a sentence for the client and a WebSocket close code."""

    reason: str
    code: int
    label: str  # the metric label


SERVICE_RESTART = 1012  # RFC 6455: the server is restarting; reconnect
TRY_AGAIN_LATER = 1013  # RFC 6455
SLOW_CODE = 4008
FORBIDDEN_CODE = 4003
UNAUTHORIZED_CODE = 4001
SHUTDOWN = Closing("server shutting down", SERVICE_RESTART, "shutdown")
SUSPENDED = Closing("tenant suspended", FORBIDDEN_CODE, "suspended")
UNREGISTERED = Closing("tenant no longer registered", FORBIDDEN_CODE, "unregistered")
EXPIRED = Closing("token expired", UNAUTHORIZED_CODE, "expired")
UNAVAILABLE = Closing("stream unavailable; resume later", TRY_AGAIN_LATER, "unavailable")


@dataclass(frozen=True)
class Interest:
    """Which of its tenant's events a client receives.

    ``user``: only events of that user (a customer sees their own orders); None: every user's.
    ``prefix``: a channel (``order.``); ``types``: event types or their prefixes without the
    version (``order.created`` matches ``order.created.v1``); ``keys``: aggregate (order) ids.
    Empty sets mean no restriction.
    """

    tenant: str
    user: str | None = None
    prefix: str = ""
    types: frozenset[str] = frozenset()
    keys: frozenset[str] = frozenset()

    def wants(self, event: StreamEvent) -> bool:
        """Tell whether ``event`` (of this tenant) is for this client."""
        if self.user is not None and event.user != self.user:
            return False
        if self.prefix and not event.type.startswith(self.prefix):
            return False
        if self.types and not any(
            event.type == t or event.type.startswith(t + ".") for t in self.types
        ):
            return False
        return not self.keys or event.key in self.keys


class Subscriber:
    """A client's queue and state, shared by the hub (producer) and its session (consumer)."""

    __slots__ = (
        "beat",
        "closing",
        "expires_at",
        "gone",
        "interest",
        "limit",
        "queue",
        "quiet",
        "skip",
        "transport",
        "wakeup",
    )

    def __init__(
        self, interest: Interest, *, limit: int, transport: str, expires_at: float
    ) -> None:
        self.interest = interest
        self.limit = limit
        self.transport = transport
        self.expires_at = expires_at
        self.queue: deque[StreamEvent] = deque()
        self.wakeup = asyncio.Event()
        self.closing: Closing | None = None  # why the server closes it
        self.gone = False  # the client went away
        # A client resuming from a position this process has not reached yet (it read another
        # notifier): live events it has already seen are skipped until the frontier passes it.
        self.skip: Cursor | None = None
        # Heartbeats: ``quiet`` until its session writes; a tick finding it still quiet asks for
        # a ``beat``. One ticker for all clients costs less than a timer per client per wait.
        self.quiet = True
        self.beat = False

    @property
    def tenant(self) -> str:
        """The tenant whose events it receives."""
        return self.interest.tenant

    @property
    def active(self) -> bool:
        """Neither closed by the server nor gone."""
        return self.closing is None and not self.gone

    def push(self, event: StreamEvent) -> bool:
        """Queue ``event``; return False (and close) when the client is too far behind."""
        if self.skip is not None:
            seen = seen_by(self.skip, event.ref, event.cursor)
            if event.cursor.at_or_after(self.skip):
                self.skip = None
            if seen:
                return True
        if len(self.queue) >= self.limit:
            reason = f"slow consumer: more than {self.limit} events waiting"
            self.close(Closing(reason, SLOW_CODE, "slow"))
            return False
        self.queue.append(event)
        self.wakeup.set()
        return True

    def take(self) -> list[StreamEvent]:
        """Return and forget every queued event."""
        events = list(self.queue)
        self.queue.clear()
        return events

    def tick(self) -> None:
        """Ask for a heartbeat if nothing was written since the last tick."""
        if self.quiet:
            self.beat = True
            self.wakeup.set()
        self.quiet = True

    def close(self, closing: Closing) -> None:
        """Close from the server's side: its session says why and ends."""
        if self.closing is None:
            self.closing = closing
        self.queue.clear()  # what it did not read in time is replayable from the stream
        self.wakeup.set()

    def leave(self) -> None:
        """The client disconnected."""
        self.gone = True
        self.wakeup.set()
