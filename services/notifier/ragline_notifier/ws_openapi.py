"""``/v1/ws`` in the OpenAPI document, which FastAPI leaves WebSocket routes out of.

The route is documented as the ``GET`` that upgrades (``101 Switching Protocols``) with its query
parameters and the same security schemes as the SSE routes. OpenAPI has no words for messages
over a WebSocket, so the server's messages are component schemas (``WsEventMessage``, ...) listed
under the operation's ``x-websocket-messages`` and the close codes under ``x-websocket-close-codes``
— each built from the constants the route itself uses.
"""

from __future__ import annotations

from typing import Any, Literal

from fastapi import FastAPI
from pydantic import BaseModel, Field

from ragline_notifier.access import CHANNEL_PREFIXES, NOTIFICATIONS_CHANNEL
from ragline_notifier.subscriber import (
    EXPIRED,
    SHUTDOWN,
    SLOW_CODE,
    SUSPENDED,
    UNAVAILABLE,
    UNREGISTERED,
)
from ragline_notifier.ws import REFUSAL_CODES, UNEXPECTED_CODE

PATH = "/v1/ws"
# The schemes the SSE routes declare (ragline_notifier.access): either one authenticates.
SECURITY: list[dict[str, list[str]]] = [{"HTTPBearer": []}, {"AccessTokenQuery": []}]
_SCHEMA_REF = "#/components/schemas/{model}"


class WsReadyMessage(BaseModel):
    """The first message: the subscription is live; events after ``position`` follow."""

    kind: Literal["ready"]
    position: str | None = Field(description="where the session starts; null on an empty stream")


class WsEventMessage(BaseModel):
    """One event."""

    kind: Literal["event"]
    position: str = Field(description="its stream position: pass as `resume` to continue after it")
    event: dict[str, Any] = Field(description="the CloudEvent (schemas in contracts/events/)")


class WsHeartbeatMessage(BaseModel):
    """Sent while no event is: the connection is alive, and where the stream is."""

    kind: Literal["heartbeat"]
    position: str | None


class WsGapMessage(BaseModel):
    """The resume position is older than the stream keeps: events in between are lost."""

    kind: Literal["gap"]
    detail: str


MESSAGES: tuple[type[BaseModel], ...] = (
    WsReadyMessage,
    WsEventMessage,
    WsHeartbeatMessage,
    WsGapMessage,
)


def close_codes() -> dict[str, str]:
    """The close codes the server ends a session with, and why."""
    reasons: dict[int, list[str]] = {}
    refusals = {
        400: "bad request (unknown channel, too many filter values)",
        401: "unauthorized: missing, malformed or invalid token",
        403: "forbidden: tenant suspended or unknown, or role not allowed",
        404: "not found",
        429: "connection limit of the tenant or the process reached",
    }
    for status, why in refusals.items():
        reasons.setdefault(REFUSAL_CODES[status], []).append(why)
    for closing in (EXPIRED, SUSPENDED, UNREGISTERED, SHUTDOWN, UNAVAILABLE):
        reasons.setdefault(closing.code, []).append(closing.reason)
    reasons.setdefault(SLOW_CODE, []).append("slow consumer: more events waiting than it reads")
    reasons.setdefault(UNEXPECTED_CODE, []).append("unexpected server error")
    return {str(code): "; ".join(why) for code, why in sorted(reasons.items())}


def _array_query(name: str, description: str) -> dict[str, Any]:
    return {
        "name": name,
        "in": "query",
        "required": False,
        "description": description,
        "schema": {"type": "array", "items": {"type": "string"}},
        "style": "form",
        "explode": True,
    }


def operation() -> dict[str, Any]:
    """The OpenAPI operation of the WebSocket handshake."""
    return {
        "tags": ["streams"],
        "summary": "The caller's tenant's events over a WebSocket, as JSON messages",
        "description": (
            "Upgrade to a WebSocket. The server sends JSON text messages (see "
            "`x-websocket-messages`), the first one `ready`; the client sends nothing. A refused "
            "connection is accepted and then closed with a code and reason (see "
            "`x-websocket-close-codes`), because browsers show a close reason but not the status "
            "of a refused handshake."
        ),
        "operationId": "websocket_stream_v1_ws",
        "parameters": [
            {
                "name": "channel",
                "in": "query",
                "required": False,
                "description": "`orders` (order events only) or `notifications` (every event)",
                "schema": {
                    "type": "string",
                    "enum": sorted(CHANNEL_PREFIXES),
                    "default": NOTIFICATIONS_CHANNEL,
                },
            },
            _array_query("type", "event types (or prefixes: order.created); repeat or commas"),
            _array_query("order_id", "order ids; repeat or commas"),
            {
                "name": "resume",
                "in": "query",
                "required": False,
                "description": "resume after this position (from an earlier message)",
                "schema": {"type": "string"},
            },
        ],
        "security": SECURITY,
        "responses": {"101": {"description": "Switching Protocols: the WebSocket is open"}},
        "x-websocket-messages": {
            "oneOf": [{"$ref": _SCHEMA_REF.format(model=model.__name__)} for model in MESSAGES],
            "discriminator": {"propertyName": "kind"},
        },
        "x-websocket-close-codes": close_codes(),
    }


def document_websocket(app: FastAPI) -> None:
    """Add ``/v1/ws`` and its message schemas to ``app``'s OpenAPI document."""
    build_openapi = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            document = build_openapi()
            document["paths"][PATH] = {"get": operation()}
            schemas = document.setdefault("components", {}).setdefault("schemas", {})
            for model in MESSAGES:
                schemas[model.__name__] = model.model_json_schema(ref_template=_SCHEMA_REF)
            app.openapi_schema = document
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
