"""``/v1/orders``: place orders idempotently, read them, move them through their statuses."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Header, Query, Request
from fastapi.routing import APIRoute
from starlette.responses import Response

from ragline_api.deps import AnyRole, SessionDep, StateDep, api_state, open_session
from ragline_api.orders import service
from ragline_api.orders.idempotency import KEY_PATTERN
from ragline_api.orders.schemas import OrderCreate, OrderPage, OrderPublic, OrderUpdate
from ragline_api.pagination import DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE
from ragline_api.state import ApiState
from ragline_common.auth import Principal
from ragline_common.errors import problem_responses
from ragline_common.events import OrderStatus

router = APIRouter(
    prefix="/v1/orders",
    tags=["orders"],
    responses=problem_responses(401, 403, 413, 422, 429),
)

IdempotencyKey = Annotated[
    str,
    Header(
        alias="Idempotency-Key",
        pattern=KEY_PATTERN,
        description="client-chosen key; a retry with the same key and body replays the answer",
    ),
]


@router.post(
    "",
    status_code=201,
    response_model=OrderPublic,
    responses=problem_responses(409),
    summary="Place an order",
)
async def create_order(
    body: OrderCreate, idempotency_key: IdempotencyKey, principal: AnyRole, request: Request
) -> Response:
    return await place_order(
        api_state(request), principal=principal, body=body, idempotency_key=idempotency_key
    )


async def place_order(
    state: ApiState, *, principal: Principal, body: OrderCreate, idempotency_key: str
) -> Response:
    """Place (or replay) the order and answer it: the route's work, shared with the plain-ASGI
    path (:mod:`ragline_api.orders.fast_create`)."""
    # The busiest write: the session is opened here, not by a dependency (see open_session).
    async with open_session(state, principal) as session:
        stored, replayed = await service.create_order(
            session,
            principal=principal,
            body=body,
            idempotency_key=idempotency_key,
            idempotency_ttl=state.idempotency_ttl,
            source=state.settings.event_source,
        )
    if replayed:
        state.metrics.idempotent_replays.inc()
    else:
        state.metrics.orders_created.inc()
        state.metrics.outbox_events.labels("order.created.v1").inc()
    return Response(
        content=stored.body,
        status_code=stored.status_code,
        media_type="application/json",
        headers={"Idempotent-Replayed": "true"} if replayed else None,
    )


def create_route() -> APIRoute:
    """Return the route of ``POST /v1/orders`` (the plain-ASGI path stands in for it)."""
    for route in router.routes:
        if isinstance(route, APIRoute) and route.endpoint is create_order:
            return route
    raise LookupError("the order route is missing")


@router.get("", response_model=OrderPage, summary="List orders")
async def list_orders(
    principal: AnyRole,
    session: SessionDep,
    status: OrderStatus | None = None,
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE_SIZE)] = DEFAULT_PAGE_SIZE,
    cursor: Annotated[str | None, Query(max_length=200)] = None,
) -> OrderPage:
    return await service.list_orders(
        session, principal=principal, status=status, limit=limit, cursor=cursor
    )


@router.get(
    "/{order_id}",
    response_model=OrderPublic,
    responses=problem_responses(404),
    summary="Get an order",
)
async def get_order(order_id: uuid.UUID, principal: AnyRole, session: SessionDep) -> OrderPublic:
    return await service.get_order(session, principal=principal, order_id=order_id)


@router.patch(
    "/{order_id}",
    response_model=OrderPublic,
    responses=problem_responses(404, 409),
    summary="Change an order's status",
)
async def update_order(
    order_id: uuid.UUID,
    body: OrderUpdate,
    principal: AnyRole,
    session: SessionDep,
    state: StateDep,
) -> OrderPublic:
    order = await service.change_status(
        session,
        principal=principal,
        order_id=order_id,
        target=body.status,
        source=state.settings.event_source,
    )
    state.metrics.outbox_events.labels(f"order.{body.status.value}.v1").inc()
    return order
