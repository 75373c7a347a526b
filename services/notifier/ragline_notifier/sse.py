"""Server-sent events: ``/v1/stream/orders`` and ``/v1/stream/notifications``.

Each message is ``id: <stream position>``, ``event: <event type>``, ``data: <CloudEvent JSON>``;
the frame is built once per event and shared by every client receiving it. ``Last-Event-ID`` (sent
by EventSource on reconnect, or ``lastEventId`` in the query) resumes after that position.
Heartbeats are a comment plus ``id:`` with the current position; a gap notice is ``event: gap``;
the server ending the stream sends ``event: close`` with the reason first.

The response is a small ASGI callable rather than a generic streaming response: one task per
connection plus one waiting for the disconnect, frames written without re-encoding, and a queued
batch coalesced into one write.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from typing import Annotated, cast

from fastapi import APIRouter, Depends, Header, Query, Request, Security
from starlette.responses import Response
from starlette.types import Receive, Scope, Send

from ragline_common.errors import problem_responses
from ragline_notifier.access import (
    NOTIFICATIONS_CHANNEL,
    ORDERS_CHANNEL,
    authenticate,
    bearer_header,
    interest_for,
    open_session,
    token_from,
    token_query,
)
from ragline_notifier.events import StreamEvent
from ragline_notifier.session import ClientGoneError, Session
from ragline_notifier.settings import Transport
from ragline_notifier.state import NotifierState
from ragline_notifier.subscriber import Closing

MEDIA_TYPE = "text/event-stream"
_STREAM_DESCRIPTION = """An event stream, one message per event, until the client leaves or the \
server ends it:

- an event: `id:` its stream position, `event:` its type, `data:` the CloudEvent (JSON, schemas \
in `contracts/events/`);
- a heartbeat: the comment `: heartbeat` and `id:` the current position;
- `event: gap`, `data: {"detail": ...}`: the resume position is older than the stream keeps, \
events in between are lost;
- `event: close`, `data: {"reason": ...}`: the server ends the stream (token expired, tenant \
suspended, slow consumer, restarting); reconnect with `Last-Event-ID` where that makes sense."""
_STREAM_EXAMPLE = (
    "id: 1732263000000-0\n"
    "event: order.created\n"
    'data: {"specversion":"1.0","id":"...","type":"order.created","tenantid":"acme",...}\n\n'
    ": heartbeat\nid: 1732263000000-0\n\n"
)
_SSE_RESPONSES = {
    200: {
        "description": _STREAM_DESCRIPTION,
        "content": {MEDIA_TYPE: {"schema": {"type": "string"}, "example": _STREAM_EXAMPLE}},
    },
    **problem_responses(400, 401, 403, 404, 422, 429, 503),
}


class SseWriter:
    """Writes SSE frames as chunks of one HTTP response."""

    def __init__(self, send: Send) -> None:
        self._send = send

    async def _write(self, body: bytes) -> None:
        try:
            await self._send({"type": "http.response.body", "body": body, "more_body": True})
        except OSError as exc:
            raise ClientGoneError from exc

    async def events(self, events: list[StreamEvent]) -> None:
        """One write for the whole batch."""
        await self._write(b"".join(event.sse_frame() for event in events))

    async def heartbeat(self, position: str | None) -> None:
        """A comment, and the position (an ``id`` without data moves the client's resume point)."""
        frame = b": heartbeat\n" + (b"id: " + position.encode() + b"\n" if position else b"")
        await self._write(frame + b"\n")

    async def notice(self, kind: str, detail: str) -> None:
        """A named event with a JSON detail."""
        data = json.dumps({"detail": detail}).encode()
        await self._write(b"event: " + kind.encode() + b"\ndata: " + data + b"\n\n")

    async def close(self, closing: Closing) -> None:
        """Say why, then end the response."""
        data = json.dumps({"reason": closing.reason}).encode()
        await self._write(b"event: close\ndata: " + data + b"\n\n")
        try:
            await self._send({"type": "http.response.body", "body": b"", "more_body": False})
        except OSError as exc:
            raise ClientGoneError from exc


async def _until_disconnect(receive: Receive) -> None:
    while (await receive())["type"] != "http.disconnect":
        pass


class EventStreamResponse(Response):
    """Serves one session as an event stream."""

    media_type = MEDIA_TYPE

    def __init__(self, session: Session) -> None:
        # Not Response.__init__: that would declare a zero Content-Length.
        self.session = session
        self.status_code = 200
        self.background = None
        self.init_headers({"cache-control": "no-cache", "x-accel-buffering": "no"})

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        subscriber = self.session.subscriber
        try:
            await send({"type": "http.response.start", "status": 200, "headers": self.raw_headers})
        except OSError:
            self.session.hub.remove(subscriber)
            return
        waiter = asyncio.ensure_future(_until_disconnect(receive))
        waiter.add_done_callback(lambda _: subscriber.leave())
        try:
            await self.session.serve(SseWriter(send))
        finally:
            waiter.cancel()
        if subscriber.closing is None and not subscriber.gone:
            with contextlib.suppress(OSError):
                await send({"type": "http.response.body", "body": b"", "more_body": False})


def get_state(request: Request) -> NotifierState:
    """Return the state the lifespan built."""
    return cast(NotifierState, request.app.state.notifier)


StateDep = Annotated[NotifierState, Depends(get_state)]
TypeFilter = Annotated[
    list[str] | None,
    Query(alias="type", description="event types (or prefixes: order.created); repeat or commas"),
]
OrderFilter = Annotated[list[str] | None, Query(description="order ids; repeat or commas")]
AuthHeader = Annotated[str | None, Security(bearer_header)]
TokenQuery = Annotated[str | None, Security(token_query)]
ResumeQuery = Annotated[
    str | None, Query(alias="lastEventId", description="resume after this position")
]
LastEventIdHeader = Annotated[
    str | None,
    Header(alias="Last-Event-ID", description="resume after this position (sent by EventSource)"),
]

router = APIRouter(tags=["streams"])


async def _stream(
    state: NotifierState,
    *,
    channel: str,
    token: str,
    types: list[str] | None,
    order_ids: list[str] | None,
    resume: str | None,
) -> EventStreamResponse:
    principal, expires_at = await authenticate(state, token)
    interest = interest_for(principal, channel=channel, types=types, order_ids=order_ids)
    session = open_session(
        state,
        principal=principal,
        expires_at=expires_at,
        interest=interest,
        transport=Transport.SSE,
        resume=resume,
    )
    return EventStreamResponse(session)


@router.get(
    "/v1/stream/orders",
    response_class=EventStreamResponse,
    status_code=200,
    responses=_SSE_RESPONSES,
    summary="Order events of the caller's tenant (a customer's own orders), as SSE",
)
async def stream_orders(
    state: StateDep,
    authorization: AuthHeader,
    access_token: TokenQuery,
    last_event_id: LastEventIdHeader = None,
    resume: ResumeQuery = None,
    types: TypeFilter = None,
    order_id: OrderFilter = None,
) -> EventStreamResponse:
    """Stream ``order.*`` events, optionally only some types or orders."""
    return await _stream(
        state,
        channel=ORDERS_CHANNEL,
        token=token_from(authorization, access_token),
        types=types,
        order_ids=order_id,
        resume=last_event_id or resume,
    )


@router.get(
    "/v1/stream/notifications",
    response_class=EventStreamResponse,
    status_code=200,
    responses=_SSE_RESPONSES,
    summary="Every event of the caller's tenant visible to the caller, as SSE",
)
async def stream_notifications(
    state: StateDep,
    authorization: AuthHeader,
    access_token: TokenQuery,
    last_event_id: LastEventIdHeader = None,
    resume: ResumeQuery = None,
    types: TypeFilter = None,
    order_id: OrderFilter = None,
) -> EventStreamResponse:
    """Stream all of the tenant's events the caller may see, optionally filtered."""
    return await _stream(
        state,
        channel=NOTIFICATIONS_CHANNEL,
        token=token_from(authorization, access_token),
        types=types,
        order_ids=order_id,
        resume=last_event_id or resume,
    )
