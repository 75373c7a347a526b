"""Who may connect, to what, and opening their session.

A client presents a tenant JWT (``Authorization: Bearer``, or ``access_token`` in the query where
the client cannot set headers: browsers' EventSource and WebSocket). The verifier refuses unknown
and suspended tenants. The client then sees only its own tenant's events — routing is by the
token's tenant, and the relay refused any event whose ``tenantid`` differs from its outbox row —
and a customer only their own (events whose user is theirs); staff and admins see the tenant's.
Connections are capped per tenant (the registry's ``maxSseConnections``, SSE and WebSocket
together) and per process. Checks and registration happen without an await in between, so
concurrent connects cannot overshoot a cap.
"""

from __future__ import annotations

import math
from collections.abc import Iterable

import jwt
from fastapi.openapi.models import HTTPBearer as HTTPBearerModel
from fastapi.security import APIKeyQuery
from fastapi.security.base import SecurityBase
from starlette.requests import Request

from ragline_common.auth import Principal, bearer_token
from ragline_common.errors import (
    BadRequestError,
    ForbiddenError,
    NotFoundError,
    RaglineError,
    ServiceUnavailableError,
    UnauthorizedError,
)
from ragline_notifier.session import Replay, Session
from ragline_notifier.settings import Transport
from ragline_notifier.state import NotifierState
from ragline_notifier.subscriber import Interest, Subscriber

STAFF_ROLES = frozenset({"staff", "admin"})
ORDERS_CHANNEL = "orders"
NOTIFICATIONS_CHANNEL = "notifications"
CHANNEL_PREFIXES = {ORDERS_CHANNEL: "order.", NOTIFICATIONS_CHANNEL: ""}
# Every event is checked against a client's filters: keep that bounded.
MAX_FILTER_VALUES = 100


class BearerHeader(SecurityBase):
    """The ``Authorization: Bearer`` scheme, for the OpenAPI document; hands over the raw header
    so :func:`token_from` parses it and says what is wrong with it (FastAPI's ``HTTPBearer``
    would quietly drop a malformed header)."""

    def __init__(self, *, description: str) -> None:
        self.model = HTTPBearerModel(bearerFormat="JWT", description=description)
        self.scheme_name = "HTTPBearer"

    async def __call__(self, request: Request) -> str | None:
        """Return the ``Authorization`` header as sent, if any."""
        return request.headers.get("authorization")


bearer_header = BearerHeader(description="A tenant JWT")
token_query = APIKeyQuery(
    name="access_token",
    scheme_name="AccessTokenQuery",
    description="The tenant JWT, for clients that cannot set Authorization (EventSource)",
    auto_error=False,
)


class ConnectionLimitError(RaglineError):
    """The tenant already holds as many connections as its limit allows."""

    status, title, slug = 429, "Too many connections", "connection-limit"


def token_from(authorization: str | None, access_token: str | None) -> str:
    """Return the bearer token from the header, else from the query."""
    if authorization:
        return bearer_token(authorization)
    if access_token:
        return access_token
    raise UnauthorizedError("missing bearer token")


async def authenticate(state: NotifierState, token: str) -> tuple[Principal, float]:
    """Verify ``token``; return its principal and when it expires (epoch seconds)."""
    try:
        principal = await state.verifier.verify(token)
    except UnauthorizedError:
        state.metrics.refused.labels("unauthorized").inc()
        raise
    except ForbiddenError:
        state.metrics.refused.labels("forbidden").inc()
        raise
    # Already verified: this only reads the expiry, which ends the connection too.
    claims = jwt.decode(token, options={"verify_signature": False})
    expires_at = claims.get("exp")
    return principal, float(expires_at) if isinstance(expires_at, int | float) else math.inf


def _values(raw: Iterable[str] | None, *, name: str) -> frozenset[str]:
    values = frozenset(v.strip() for item in raw or () for v in item.split(",") if v.strip())
    if len(values) > MAX_FILTER_VALUES:
        raise BadRequestError(f"at most {MAX_FILTER_VALUES} values of {name}")
    return values


def interest_for(
    principal: Principal,
    *,
    channel: str,
    types: Iterable[str] | None = None,
    order_ids: Iterable[str] | None = None,
) -> Interest:
    """Return what ``principal`` receives on ``channel`` with these filters."""
    if channel not in CHANNEL_PREFIXES:
        raise BadRequestError(f"unknown channel {channel!r}")
    return Interest(
        tenant=principal.tenant_id,
        user=None if principal.has_any(STAFF_ROLES) else principal.user_id,
        prefix=CHANNEL_PREFIXES[channel],
        types=_values(types, name="type"),
        keys=_values(order_ids, name="order_id"),
    )


def _admit(state: NotifierState, principal: Principal) -> None:
    settings, hub = state.settings, state.hub
    if hub.size >= settings.max_connections:
        state.metrics.refused.labels("capacity").inc()
        raise ServiceUnavailableError("this notifier holds as many connections as it may")
    entry = state.registry.current().tenant(principal.tenant_id)
    limit = entry.limits.max_sse_connections if entry is not None else 0
    if hub.connections(principal.tenant_id) >= limit:
        state.metrics.refused.labels("limit").inc()
        raise ConnectionLimitError(f"the tenant's limit of {limit} connections is reached")


def open_session(
    state: NotifierState,
    *,
    principal: Principal,
    expires_at: float,
    interest: Interest,
    transport: Transport,
    resume: str | None,
) -> Session:
    """Admit the client and register it with the hub; return its session (not yet served)."""
    if transport not in state.settings.transports:
        raise NotFoundError(f"{transport.value} is not offered here")
    since = None
    if resume:
        try:
            since = state.source.parse(resume)
        except ValueError as exc:
            raise BadRequestError("the resume position is not one of this stream's") from exc
        if state.hub.frontier is None:
            raise ServiceUnavailableError("not reading the stream yet; resume in a moment")
    _admit(state, principal)
    subscriber = Subscriber(
        interest,
        limit=state.settings.client_buffer_events,
        transport=transport.value,
        expires_at=expires_at,
    )
    until = state.hub.add(subscriber)
    replay = None
    if since is not None and until is not None:
        subscriber.skip = since
        replay = Replay(since=since, until=until)
    return Session(
        hub=state.hub,
        source=state.source,
        subscriber=subscriber,
        metrics=state.metrics,
        lookback=state.settings.replay_lookback,
        replay_slots=state.replay_slots,
        replay=replay,
    )
