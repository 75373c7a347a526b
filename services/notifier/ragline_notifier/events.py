"""One event read from the stream, and its wire forms, encoded once for all its clients."""

from __future__ import annotations

from collections.abc import Hashable
from dataclasses import dataclass, field

from ragline_notifier.positions import Cursor


@dataclass(slots=True, eq=False)
class StreamEvent:
    """An event as the stream carried it.

    ``ref`` names the entry itself (a Redis id, a Kafka ``(partition, offset)``): two copies of one
    event (a relay republished it) share ``event_id`` but not ``ref``. ``cursor`` is the position
    just after the event, which clients resume from. ``data`` is the CloudEvent JSON, untouched.
    """

    ref: Hashable
    cursor: Cursor
    event_id: str
    tenant: str
    type: str
    key: str
    user: str
    data: bytes
    _position: str | None = field(default=None, repr=False)
    _sse: bytes | None = field(default=None, repr=False)
    _ws: str | None = field(default=None, repr=False)

    @property
    def position(self) -> str:
        """The text position (SSE ``id``)."""
        if self._position is None:
            self._position = self.cursor.encode()
        return self._position

    def sse_frame(self) -> bytes:
        """The event as one SSE message (``id``, ``event``, ``data``), built on first use."""
        if self._sse is None:
            data = self.data
            if b"\n" in data or b"\r" in data:
                # Compact JSON never holds a raw newline; anything else must not break framing.
                data = b"\ndata: ".join(data.splitlines())
            self._sse = b"".join(
                (
                    b"id: ",
                    self.position.encode(),
                    b"\nevent: ",
                    self.type.encode(),
                    b"\ndata: ",
                    data,
                    b"\n\n",
                )
            )
        return self._sse

    def ws_message(self) -> str:
        """The event as one WebSocket text message, built on first use."""
        if self._ws is None:
            self._ws = (
                '{"kind":"event","position":"'
                + self.position
                + '","event":'
                + self.data.decode(errors="replace")
                + "}"
            )
        return self._ws
