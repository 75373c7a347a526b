"""Routing: each event goes to the subscribers of its tenant, looked up in a dict.

Nothing is broadcast and filtered: an event costs one dict lookup plus its own tenant's clients,
however many other tenants are connected. :meth:`Hub.dispatch` never awaits, so it sees the
subscribers and the frontier in one consistent state; a client registered between two batches
gets, live, exactly the events after the frontier it was given (see :mod:`ragline_notifier.replay`).
"""

from __future__ import annotations

import time
from collections.abc import Iterator, Sequence

from ragline_notifier.dedup import Dedup
from ragline_notifier.events import StreamEvent
from ragline_notifier.metrics import NotifierMetrics
from ragline_notifier.positions import Cursor
from ragline_notifier.subscriber import Closing, Subscriber


class Hub:
    """The process's subscribers by tenant, and the stream position dispatched so far."""

    def __init__(self, *, dedup: Dedup, metrics: NotifierMetrics) -> None:
        self.dedup = dedup
        self._metrics = metrics
        self._tenants: dict[str, set[Subscriber]] = {}
        self.size = 0
        # Everything up to here has been handed to the subscribers; None until the stream is read.
        self.frontier: Cursor | None = None

    def add(self, subscriber: Subscriber) -> Cursor | None:
        """Register ``subscriber``; return the frontier its live events start after."""
        self._tenants.setdefault(subscriber.tenant, set()).add(subscriber)
        self.size += 1
        self._metrics.connections.labels(subscriber.transport).inc()
        return self.frontier

    def remove(self, subscriber: Subscriber) -> None:
        """Forget ``subscriber`` (safe to call twice)."""
        subscribers = self._tenants.get(subscriber.tenant)
        if subscribers is None or subscriber not in subscribers:
            return
        subscribers.discard(subscriber)
        if not subscribers:
            del self._tenants[subscriber.tenant]
        self.size -= 1
        self._metrics.connections.labels(subscriber.transport).dec()

    def connections(self, tenant: str) -> int:
        """Return how many clients of ``tenant`` are connected here."""
        return len(self._tenants.get(tenant, ()))

    def tenants(self) -> list[str]:
        """Return the tenants with connected clients."""
        return list(self._tenants)

    def subscribers_of(self, tenant: str) -> list[Subscriber]:
        """Return a snapshot of ``tenant``'s subscribers."""
        return list(self._tenants.get(tenant, ()))

    def subscribers(self) -> Iterator[Subscriber]:
        """Iterate over a snapshot of every subscriber."""
        for subscribers in list(self._tenants.values()):
            yield from list(subscribers)

    def close(self, subscriber: Subscriber, closing: Closing) -> None:
        """Close ``subscriber`` and drop it."""
        subscriber.close(closing)
        self._metrics.closed.labels(closing.label).inc()
        self.remove(subscriber)

    def tick(self) -> None:
        """One heartbeat tick: idle clients are asked to send a heartbeat."""
        for subscribers in self._tenants.values():
            for subscriber in subscribers:
                subscriber.tick()

    def close_all(self, closing: Closing) -> None:
        """Close every subscriber (shutdown)."""
        for subscriber in self.subscribers():
            self.close(subscriber, closing)

    def dispatch(self, events: Sequence[StreamEvent]) -> None:
        """Queue each new event for the subscribers of its tenant that want it."""
        started = time.perf_counter()
        delivered = duplicates = 0
        for event in events:
            self.frontier = event.cursor
            if not self.dedup.first_sighting(event):
                duplicates += 1
                continue
            subscribers = self._tenants.get(event.tenant)
            if not subscribers:
                continue
            slow: list[Subscriber] = []
            for subscriber in subscribers:
                if subscriber.interest.wants(event):
                    if subscriber.push(event):
                        delivered += 1
                    else:
                        slow.append(subscriber)
            for subscriber in slow:
                self._metrics.closed.labels("slow").inc()
                self.remove(subscriber)
        self._metrics.received.inc(len(events))
        self._metrics.deliveries.inc(delivered)
        if duplicates:
            self._metrics.duplicates.inc(duplicates)
        self._metrics.dispatch.observe(time.perf_counter() - started)
