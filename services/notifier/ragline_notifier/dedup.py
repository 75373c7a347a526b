"""Remembering event ids, so a copy of an event (the relay republished it) is never shown twice.

Delivery from the relay is at least once: a relay killed after the broker acknowledged a batch but
before marking it publishes the batch again. The copies carry the same event id at a later
position. The notifier remembers, for the last ``capacity`` distinct ids, where each was first
seen: live, a known id is a copy and is dropped; during a replay, an event is shown only at the
position where its id was first seen.

Ids older than the memory are unknown. A replay starting before what the memory surely covers
(see :meth:`Dedup.covers`) first reads some entries before its start to learn their ids.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Hashable

from ragline_notifier.events import StreamEvent
from ragline_notifier.positions import Cursor


class Dedup:
    """A bounded map from event id to the entry where it was first seen, oldest forgotten first."""

    def __init__(self, *, capacity: int, margin: int) -> None:
        self.capacity = capacity
        # A copy trails its original by at most a few relay batches; the memory covers a resume
        # position only if it also holds this many entries before it.
        self.margin = margin
        self._first: dict[str, Hashable] = {}
        self._order: deque[tuple[str, Cursor]] = deque()
        # Where the memory begins: None while nothing was ever forgotten and the stream's whole
        # history was seen.
        self.floor: Cursor | None = None

    def __len__(self) -> int:
        return len(self._first)

    def start(self, events: list[StreamEvent], *, complete: bool, frontier: Cursor) -> None:
        """Seed with the stream's last ``events``; ``complete`` if they are its whole history."""
        self._first.clear()
        self._order.clear()
        self.floor = None if complete else (events[0].cursor if events else frontier)
        for event in events:
            self.first_sighting(event)

    def first_sighting(self, event: StreamEvent) -> bool:
        """Remember ``event``'s id; return False if it was already known (a copy, or a re-read)."""
        if event.event_id in self._first:
            return False
        self._first[event.event_id] = event.ref
        self._order.append((event.event_id, event.cursor))
        if len(self._order) > self.capacity:
            forgotten, cursor = self._order.popleft()
            del self._first[forgotten]
            self.floor = cursor
        return True

    def verdict(self, event: StreamEvent) -> bool | None:
        """For a replayed event: True at its first position, False for a copy, None if unknown."""
        first = self._first.get(event.event_id)
        if first is None:
            return None
        return bool(first == event.ref)

    def covers(self, since: Cursor) -> bool:
        """Tell whether every id of a replay from ``since`` (and ``margin`` entries before it) is
        remembered, so the replay need not read anything before ``since``."""
        if self.floor is None:
            return True
        if len(self._order) <= self.margin:
            return False
        return since.at_or_after(self._order[self.margin][1])
