"""Stream positions, and their text form: the SSE ``id:`` a client hands back as ``Last-Event-ID``.

Redis: the entry id itself (``1767225600000-3``); entry ids are totally ordered, so "everything
after it" is one ``XRANGE``.

Kafka: order exists only within a partition, so one offset cannot say what a client has seen. The
position is the notifier's whole frontier just after the event: ``partition:next offset`` for
every partition, e.g. ``0:1532,1:977,2:1204``. Every event before it, in every partition, was
either sent to the client or not meant for it; resuming seeks each partition to its offset.
"""

from __future__ import annotations

import re
from abc import ABC, abstractmethod
from collections.abc import Hashable, Iterable
from dataclasses import dataclass

_REDIS_ID = re.compile(r"^(\d{1,20})-(\d{1,20})$")
_KAFKA_PART = re.compile(r"^(\d{1,9}):(\d{1,19})$")
# A Kafka position names every partition; a topic has at most a few thousand.
MAX_KAFKA_PARTITIONS = 4096


class Cursor(ABC):
    """A position in the stream."""

    @abstractmethod
    def encode(self) -> str:
        """Return the text form (an SSE id)."""

    @abstractmethod
    def at_or_after(self, other: Cursor) -> bool:
        """Tell whether this position is at or past ``other``."""


@dataclass(frozen=True, order=True, slots=True)
class RedisCursor(Cursor):
    """A Redis stream entry id."""

    ms: int
    seq: int

    def encode(self) -> str:
        """Return ``<ms>-<seq>``."""
        return f"{self.ms}-{self.seq}"

    def at_or_after(self, other: Cursor) -> bool:
        """Compare entry ids."""
        if not isinstance(other, RedisCursor):
            raise TypeError("cannot compare positions of different streams")
        return (self.ms, self.seq) >= (other.ms, other.seq)

    @classmethod
    def parse(cls, text: str) -> RedisCursor:
        """Parse ``<ms>-<seq>``; raise ValueError for anything else."""
        match = _REDIS_ID.match(text.strip())
        if match is None:
            raise ValueError("not a stream position")
        return cls(int(match.group(1)), int(match.group(2)))


REDIS_START = RedisCursor(0, 0)


@dataclass(frozen=True, slots=True)
class KafkaCursor(Cursor):
    """The next offset to read in each partition, sorted by partition."""

    offsets: tuple[tuple[int, int], ...]

    @classmethod
    def of(cls, offsets: Iterable[tuple[int, int]]) -> KafkaCursor:
        """Build from ``(partition, next offset)`` pairs in any order."""
        return cls(tuple(sorted(offsets)))

    def as_dict(self) -> dict[int, int]:
        """Return ``{partition: next offset}``."""
        return dict(self.offsets)

    def encode(self) -> str:
        """Return ``p:o,p:o,...``."""
        return ",".join(f"{partition}:{offset}" for partition, offset in self.offsets)

    def at_or_after(self, other: Cursor) -> bool:
        """Tell whether every partition of ``other`` is reached here too."""
        if not isinstance(other, KafkaCursor):
            raise TypeError("cannot compare positions of different streams")
        mine = self.as_dict()
        return all(mine.get(partition, -1) >= offset for partition, offset in other.offsets)

    @classmethod
    def parse(cls, text: str) -> KafkaCursor:
        """Parse ``p:o,...``; raise ValueError for anything else."""
        parts = [part for part in text.strip().split(",") if part]
        if not parts or len(parts) > MAX_KAFKA_PARTITIONS:
            raise ValueError("not a stream position")
        offsets: dict[int, int] = {}
        for part in parts:
            match = _KAFKA_PART.match(part)
            if match is None:
                raise ValueError("not a stream position")
            offsets[int(match.group(1))] = int(match.group(2))
        return cls.of(offsets.items())


def seen_by(position: Cursor, ref: Hashable, cursor: Cursor) -> bool:
    """Tell whether a client at ``position`` has already been past the event at ``ref``
    (whose own position is ``cursor``)."""
    if isinstance(position, KafkaCursor):
        assert isinstance(ref, tuple)
        partition, offset = ref
        return bool(position.as_dict().get(partition, -1) > offset)
    return position.at_or_after(cursor)
