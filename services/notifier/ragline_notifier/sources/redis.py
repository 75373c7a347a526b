"""A Redis stream read with ``XREADGROUP`` in this process's group, and replayed with ``XRANGE``.

A new group starts at the stream's last entry. After a reconnect the group's pending entries
(delivered to us, maybe never received) are read first. If the group vanished (a Redis restart
without persistence) it is created again just after the last position dispatched, so entries added
since the restart are still read.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Sequence
from typing import Any

from redis.asyncio import Redis
from redis.exceptions import RedisError, ResponseError

from ragline_notifier.events import StreamEvent
from ragline_notifier.positions import REDIS_START, Cursor, RedisCursor
from ragline_notifier.sources.base import READ_CHUNK

# A blocking read waits up to its block time; the socket must wait longer than that.
SOCKET_SLACK_SECONDS = 5.0
CONNECT_TIMEOUT_SECONDS = 5.0


def _text(fields: dict[bytes, bytes], name: bytes) -> str:
    value = fields.get(name)
    return value.decode() if value is not None else ""


def to_event(entry_id: bytes, fields: dict[bytes, bytes] | None) -> StreamEvent:
    """Turn one stream entry into an event (a malformed entry gets no tenant: nobody sees it)."""
    ref = entry_id.decode()
    fields = fields or {}
    return StreamEvent(
        ref=ref,
        cursor=RedisCursor.parse(ref),
        event_id=_text(fields, b"id") or ref,
        tenant=_text(fields, b"tenant"),
        type=_text(fields, b"type"),
        key=_text(fields, b"key"),
        user=_text(fields, b"user"),
        data=fields.get(b"data", b""),
    )


Entries = list[tuple[bytes, dict[bytes, bytes]]]


def _entries(reply: Any) -> Entries:
    """The entries of an ``XREADGROUP`` reply on one stream."""
    if not reply:
        return []
    entries: Entries = reply[0][1]
    return entries


def to_events(entries: Any) -> list[StreamEvent]:
    """Turn ``XRANGE``-shaped entries into events."""
    typed: Entries = entries or []
    return [to_event(entry_id, fields) for entry_id, fields in typed]


class RedisSource:
    """One stream, one consumer group of one consumer (this process)."""

    def __init__(
        self,
        *,
        url: str,
        stream: str,
        group: str,
        consumer: str,
        block_ms: int,
        destroy_group: bool = False,
    ) -> None:
        self.stream = stream
        # A group named after a process id is never joined again: drop it when closing.
        self._destroy_group = destroy_group
        self.group = group
        self.consumer = consumer
        # Blocking reads get their own client, so replays never queue behind them.
        self._live = Redis.from_url(
            url,
            socket_timeout=block_ms / 1000 + SOCKET_SLACK_SECONDS,
            socket_connect_timeout=CONNECT_TIMEOUT_SECONDS,
        )
        self._reader = Redis.from_url(
            url,
            socket_timeout=CONNECT_TIMEOUT_SECONDS * 2,
            socket_connect_timeout=CONNECT_TIMEOUT_SECONDS,
        )
        self._pending_first = True
        self._acked: RedisCursor = REDIS_START
        self._joined = False

    async def start(self) -> Cursor:
        """Find or create the group; return its last delivered entry.

        A new group starts at the stream's last entry; one that vanished while we read it (a
        restart without persistence) is created again after the last entry we acknowledged.
        """
        try:
            groups: list[dict[str, Any]] = await self._live.xinfo_groups(self.stream)
        except ResponseError:  # no such stream yet
            groups = []
        for group in groups:
            if group["name"].decode() == self.group:
                self._acked = RedisCursor.parse(group["last-delivered-id"].decode())
                break
        else:
            if not self._joined:
                self._acked = await self._last_entry()
            await self._create(self._acked)
        self._joined = True
        self._pending_first = True
        return self._acked

    async def _last_entry(self) -> RedisCursor:
        try:
            info: dict[str, Any] = await self._live.xinfo_stream(self.stream)
        except ResponseError:
            return REDIS_START
        return RedisCursor.parse(info["last-generated-id"].decode())

    async def _create(self, at: RedisCursor) -> None:
        try:
            await self._live.xgroup_create(self.stream, self.group, id=at.encode(), mkstream=True)
        except ResponseError as exc:
            if "BUSYGROUP" not in str(exc):
                raise

    async def fetch(self, *, count: int, block_ms: int) -> list[StreamEvent]:
        """Read our pending entries first (after a reconnect), then new ones."""
        pending = self._pending_first
        try:
            reply = await self._live.xreadgroup(
                self.group,
                self.consumer,
                {self.stream: "0" if pending else ">"},
                count=count,
                block=None if pending else block_ms,
            )
        except ResponseError as exc:
            if "NOGROUP" not in str(exc):
                raise
            await self._create(self._acked)
            return []
        entries = _entries(reply)
        if pending and not entries:
            self._pending_first = False
        return to_events(entries)

    async def ack(self, events: Sequence[StreamEvent]) -> None:
        """``XACK`` the entries."""
        if events:
            await self._live.xack(self.stream, self.group, *(str(event.ref) for event in events))
            cursor = events[-1].cursor
            assert isinstance(cursor, RedisCursor)
            self._acked = cursor

    async def read_range(self, since: Cursor, until: Cursor) -> AsyncIterator[list[StreamEvent]]:
        """``XRANGE (since until`` in chunks."""
        start = "(" + since.encode()
        while True:
            events = to_events(
                await self._reader.xrange(
                    self.stream, min=start, max=until.encode(), count=READ_CHUNK
                )
            )
            if not events:
                return
            yield events
            if len(events) < READ_CHUNK:
                return
            start = "(" + events[-1].position

    async def tail(self, until: Cursor, count: int) -> tuple[list[StreamEvent], bool]:
        """``XREVRANGE until - COUNT count``, oldest first."""
        if count <= 0:
            return [], False
        events = to_events(
            await self._reader.xrevrange(self.stream, max=until.encode(), count=count)
        )
        events.reverse()
        return events, len(events) < count

    async def trimmed_after(self, since: Cursor) -> bool:
        """Compare ``since`` with the stream's largest trimmed (or deleted) entry id."""
        try:
            info: dict[str, Any] = await self._reader.xinfo_stream(self.stream)
        except ResponseError:
            return False
        deleted = info.get("max-deleted-entry-id")
        if not deleted:
            return False
        return not since.at_or_after(RedisCursor.parse(deleted.decode()))

    def parse(self, text: str) -> Cursor:
        """Parse an entry id."""
        return RedisCursor.parse(text)

    async def ping(self) -> None:
        """PING the server."""
        await self._reader.ping()

    async def reset(self) -> None:
        """Reconnect on next use, and re-read our pending entries then."""
        self._pending_first = True
        await self._live.connection_pool.disconnect()

    async def close(self) -> None:
        """Close the clients, dropping the group if it was this process's alone."""
        if self._destroy_group:
            with contextlib.suppress(RedisError, OSError):
                await self._reader.xgroup_destroy(self.stream, self.group)
        await self._live.aclose()
        await self._reader.aclose()
