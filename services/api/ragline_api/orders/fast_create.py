"""``POST /v1/orders`` without the framework when the request is well-formed.

Placing an order is the API's busiest write, and FastAPI's routing, dependency solving and body
handling cost about a third of its CPU. So :class:`PlainOrderPosts` (beside the fast product read:
the request context, metrics, access log and body limit still wrap it) places well-formed orders
itself, with the route's own code: :func:`~ragline_api.deps.plain_principal` (the route's
token verification and rate limit), the body model parsed from ``json.loads`` as FastAPI does,
and :func:`~ragline_api.orders.endpoints.place_order`, which answers exactly as the route does
(problems included: they come from the same handler function).

Everything the route would refuse before placing goes on to it, with the body replayed: another
method or path, a query string, no ``Content-Length`` (a chunked body) or a media type other than
``application/json``, a missing or malformed ``Idempotency-Key``, a body that is not JSON or not a
valid order, a missing or bad token, a role that may not order, a tenant over its limit. Nothing
is charged twice: a request that took its rate-limit token here carries its principal on (see
:class:`~ragline_api.deps.TenantBearer`), and one that was refused here took nothing.
"""

from __future__ import annotations

import json
import re

from fastapi.routing import APIRoute
from pydantic import ValidationError
from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ragline_api.deps import api_state, plain_principal
from ragline_api.orders.endpoints import place_order
from ragline_api.orders.idempotency import HEADER, KEY_PATTERN
from ragline_api.orders.schemas import OrderCreate
from ragline_api.roles import Role
from ragline_common.errors import RaglineError, problem_response

PATH = "/v1/orders"
_KEY = re.compile(KEY_PATTERN)
_KEY_HEADER = HEADER.lower().encode()
_ORDERING = frozenset(Role)


def _is_plain_post(scope: Scope) -> bool:
    return (
        scope["type"] == "http"
        and scope["method"] == "POST"
        and scope["path"] == PATH
        and not scope.get("query_string")
    )


def _headers(scope: Scope) -> tuple[bytes | None, bytes | None, bytes | None]:
    """Return the request's Content-Length, Content-Type and Idempotency-Key (first of each)."""
    length = media = key = None
    for name, value in scope["headers"]:
        if name == b"content-length" and length is None:
            length = value
        elif name == b"content-type" and media is None:
            media = value
        elif name == _KEY_HEADER and key is None:
            key = value
        elif name == b"transfer-encoding":
            return None, None, None
    return length, media, key


async def _read_body(receive: Receive) -> tuple[bytes, list[Message]]:
    """Return the body and the messages it came in (to replay to the route)."""
    messages = []
    while True:
        message = await receive()
        messages.append(message)
        if message["type"] != "http.request" or not message.get("more_body", False):
            break
    return b"".join(m.get("body", b"") for m in messages if m["type"] == "http.request"), messages


def _replaying(messages: list[Message], receive: Receive) -> Receive:
    async def replay() -> Message:
        return messages.pop(0) if messages else await receive()

    return replay


def _parse(body: bytes) -> OrderCreate | None:
    try:
        return OrderCreate.model_validate(json.loads(body))
    except (ValueError, ValidationError):  # JSONDecodeError and UnicodeDecodeError included
        return None


class PlainOrderPosts:
    """Place well-formed orders directly; pass every other request on."""

    def __init__(self, app: ASGIApp, *, route: APIRoute) -> None:
        self.app = app
        # Set as the request's route, as the router would: metrics and logs label by its path.
        self.route = route

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if not _is_plain_post(scope) or getattr(scope["app"].state, "api", None) is None:
            await self.app(scope, receive, send)
            return
        length, media, key = _headers(scope)
        # Only a declared length (the body limit has checked it) and plain JSON: anything else
        # is the route's to parse and refuse.
        if length is None or media != b"application/json" or key is None:
            await self.app(scope, receive, send)
            return
        body, messages = await _read_body(receive)
        request = Request(scope, receive)
        idempotency_key = key.decode("latin-1")
        order = _parse(body) if _KEY.fullmatch(idempotency_key) else None
        principal = await plain_principal(request, roles=_ORDERING) if order is not None else None
        if order is None or principal is None:
            await self.app(scope, _replaying(messages, receive), send)
            return
        scope["route"] = self.route
        try:
            response = await place_order(
                api_state(request), principal=principal, body=order, idempotency_key=idempotency_key
            )
        except RaglineError as error:  # as the route's problem handler renders it
            response = problem_response(error, instance=scope["path"])
        await response(scope, receive, send)
