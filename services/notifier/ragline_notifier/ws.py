"""WebSocket: ``/v1/ws``, the same sessions as SSE in JSON text messages.

Query: ``channel`` (``notifications``, the default, or ``orders``), ``type`` and ``order_id``
filters, ``resume`` (a position from an earlier message) and ``access_token`` unless an
``Authorization`` header is sent. Server messages: ``{"kind": "event", "position", "event"}``,
``{"kind": "heartbeat", "position"}``, ``{"kind": "gap", "detail"}``; the first message,
``{"kind": "ready", "position"}``, says the subscription is live and where it starts. The server
ends a session with a close code and reason: 4001 unauthorized or token expired, 4003 forbidden
or tenant suspended, 4008 slow consumer, 4029 connection limit, 4400 bad request, 1012
restarting, 1013 stream unavailable (resume later). Refusals are sent after the handshake,
because browsers show a close reason but not the HTTP status of a refused handshake.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from typing import Annotated, cast

from fastapi import APIRouter, Header, Query, WebSocket
from starlette.websockets import WebSocketDisconnect

from ragline_common.errors import RaglineError
from ragline_notifier.access import (
    NOTIFICATIONS_CHANNEL,
    authenticate,
    interest_for,
    open_session,
    token_from,
)
from ragline_notifier.events import StreamEvent
from ragline_notifier.session import ClientGoneError
from ragline_notifier.settings import Transport
from ragline_notifier.state import NotifierState
from ragline_notifier.subscriber import Closing

# WebSocket close codes 4000-4999 are the application's; these mirror HTTP statuses.
REFUSAL_CODES = {400: 4400, 401: 4001, 403: 4003, 404: 4404, 429: 4029, 503: 1013}
UNEXPECTED_CODE = 1011  # RFC 6455: the server met an unexpected condition
# What writing to a WebSocket whose client left raises.
_GONE = (WebSocketDisconnect, OSError, RuntimeError)
# RFC 6455 caps a close reason at 123 bytes.
MAX_REASON_BYTES = 123


def _reason(text: str) -> str:
    return text.encode()[:MAX_REASON_BYTES].decode(errors="ignore")


class WsWriter:
    """Writes one JSON text message per event."""

    def __init__(self, websocket: WebSocket) -> None:
        self._ws = websocket

    async def _send(self, text: str) -> None:
        try:
            await self._ws.send_text(text)
        except _GONE as exc:
            raise ClientGoneError from exc

    async def events(self, events: list[StreamEvent]) -> None:
        """Each event as its own message, built once for all clients."""
        for event in events:
            await self._send(event.ws_message())

    async def ready(self, position: str | None) -> None:
        """``{"kind": "ready", "position": ...}``: registered, events from here on follow."""
        await self._send(json.dumps({"kind": "ready", "position": position}))

    async def heartbeat(self, position: str | None) -> None:
        """``{"kind": "heartbeat", "position": ...}``."""
        await self._send(json.dumps({"kind": "heartbeat", "position": position}))

    async def notice(self, kind: str, detail: str) -> None:
        """``{"kind": <kind>, "detail": ...}``."""
        await self._send(json.dumps({"kind": kind, "detail": detail}))

    async def close(self, closing: Closing) -> None:
        """Close with the code and reason."""
        try:
            await self._ws.close(code=closing.code, reason=_reason(closing.reason))
        except _GONE as exc:
            raise ClientGoneError from exc


async def _until_disconnect(websocket: WebSocket) -> None:
    # Clients have nothing to say; reading is how a disconnect is noticed.
    try:
        while (await websocket.receive())["type"] != "websocket.disconnect":
            pass
    except _GONE:
        return


router = APIRouter()


@router.websocket("/v1/ws")
async def websocket_stream(
    websocket: WebSocket,
    authorization: Annotated[str | None, Header()] = None,
    access_token: Annotated[str | None, Query()] = None,
    channel: Annotated[str, Query()] = NOTIFICATIONS_CHANNEL,
    types: Annotated[list[str] | None, Query(alias="type")] = None,
    order_id: Annotated[list[str] | None, Query()] = None,
    resume: Annotated[str | None, Query()] = None,
) -> None:
    """Stream the tenant's events the caller may see, as JSON messages."""
    state = cast(NotifierState, websocket.app.state.notifier)
    await websocket.accept()
    try:
        principal, expires_at = await authenticate(state, token_from(authorization, access_token))
        interest = interest_for(principal, channel=channel, types=types, order_ids=order_id)
        session = open_session(
            state,
            principal=principal,
            expires_at=expires_at,
            interest=interest,
            transport=Transport.WEBSOCKET,
            resume=resume,
        )
    except RaglineError as exc:
        code = REFUSAL_CODES.get(exc.status, UNEXPECTED_CODE)
        with contextlib.suppress(*_GONE):
            await websocket.close(code=code, reason=_reason(exc.detail))
        return
    waiter = asyncio.ensure_future(_until_disconnect(websocket))
    waiter.add_done_callback(lambda _: session.subscriber.leave())
    writer = WsWriter(websocket)
    try:
        await writer.ready(session.start_position())
        await session.serve(writer)
    except ClientGoneError:
        session.hub.remove(session.subscriber)
    finally:
        waiter.cancel()
    if session.subscriber.closing is None and not session.subscriber.gone:
        with contextlib.suppress(*_GONE):
            await websocket.close()
