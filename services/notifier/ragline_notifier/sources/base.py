"""What a stream must offer the notifier: a consumer group to read live, and ranges to replay."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from typing import Protocol

from aiokafka.errors import KafkaError
from redis.exceptions import RedisError

from ragline_notifier.events import StreamEvent
from ragline_notifier.positions import Cursor

# Replays and look-backs read the stream in chunks of this many entries.
READ_CHUNK = 500
# What a broker client raises when the broker is unreachable or refuses: retried, never fatal.
BROKER_ERRORS: tuple[type[BaseException], ...] = (RedisError, KafkaError, OSError, TimeoutError)


class StreamSource(Protocol):
    """A stream read in this process's consumer group, and read by position for replays."""

    async def start(self) -> Cursor:
        """Join (or create) the consumer group; return the position live reading starts after."""
        ...

    async def fetch(self, *, count: int, block_ms: int) -> list[StreamEvent]:
        """Return the group's next entries in stream order (empty after ``block_ms``)."""
        ...

    async def ack(self, events: Sequence[StreamEvent]) -> None:
        """Acknowledge (commit) ``events``: they were handed to every local subscriber."""
        ...

    def read_range(self, since: Cursor, until: Cursor) -> AsyncIterator[list[StreamEvent]]:
        """Yield the entries after ``since`` up to ``until`` (inclusive), in chunks."""
        ...

    async def tail(self, until: Cursor, count: int) -> tuple[list[StreamEvent], bool]:
        """Return up to ``count`` entries up to ``until``, oldest first, and whether they reach
        back to the stream's beginning."""
        ...

    async def trimmed_after(self, since: Cursor) -> bool:
        """Tell whether entries after ``since`` were trimmed away (a resume would miss them)."""
        ...

    def parse(self, text: str) -> Cursor:
        """Parse a position a client sent; raise ValueError if it is not one of this stream's."""
        ...

    async def ping(self) -> None:
        """Raise unless the broker answers."""
        ...

    async def reset(self) -> None:
        """Drop connections after an error; the next call reconnects."""
        ...

    async def close(self) -> None:
        """Leave the group and release every connection."""
        ...
