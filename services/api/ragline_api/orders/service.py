"""Order use cases. Each change writes its outbox event in the same transaction: the session
dependency commits both or neither."""

from __future__ import annotations

import json
import uuid
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from ragline_api.orders import idempotency, repository
from ragline_api.orders.idempotency import StoredResponse
from ragline_api.orders.repository import ProductToPrice
from ragline_api.orders.schemas import OrderCreate, OrderLinePublic, OrderPage, OrderPublic
from ragline_api.orders.transitions import check_transition
from ragline_api.pagination import decode_cursor, encode_cursor
from ragline_api.roles import STAFF_ROLES
from ragline_common.auth import Principal
from ragline_common.db import TenantSession
from ragline_common.errors import FieldProblem, NotFoundError, UnprocessableError
from ragline_common.events import (
    EventData,
    OrderCreatedV1,
    OrderLineData,
    OrderStatus,
    status_changed,
)
from ragline_common.outbox import outbox_row


def _visible_to(principal: Principal) -> str | None:
    """Customers see their own orders only; staff see the tenant's."""
    return None if principal.has_any(STAFF_ROLES) else principal.user_id


def _price_lines(
    body: OrderCreate, found: Mapping[uuid.UUID, ProductToPrice]
) -> tuple[list[OrderLineData], str]:
    """Price every line from the tenant's products ``found`` (by id); refuse unknown, unavailable
    and mixed currency."""
    problems: list[FieldProblem] = []
    priced: list[OrderLineData] = []
    currencies: set[str] = set()
    seen: set[uuid.UUID] = set()
    for index, line in enumerate(body.lines):
        field = f"lines[{index}].product_id"
        product = found.get(line.product_id)
        if line.product_id in seen:
            problems.append(FieldProblem(field=field, message="listed twice", type="duplicate"))
        elif product is None:
            problems.append(FieldProblem(field=field, message="no such product", type="unknown"))
        elif not product.available:
            problems.append(FieldProblem(field=field, message="not available", type="unavailable"))
        else:
            currencies.add(product.currency)
            priced.append(
                OrderLineData(
                    product_id=product.id,
                    sku=product.sku,
                    name=product.name,
                    quantity=line.quantity,
                    unit_price_cents=product.price_cents,
                    line_total_cents=product.price_cents * line.quantity,
                )
            )
        seen.add(line.product_id)
    if len(currencies) > 1:
        problems.append(FieldProblem(field="lines", message="mixes currencies", type="currency"))
    if problems:
        raise UnprocessableError("the order cannot be placed", errors=problems)
    return priced, currencies.pop()


async def _write_event(
    session: TenantSession, event: EventData, *, source: str, at: datetime
) -> None:
    row = outbox_row(event, tenant_id=session.tenant_id, source=source, occurred_at=at)
    await repository.insert_outbox(session, row)


async def create_order(
    session: TenantSession,
    *,
    principal: Principal,
    body: OrderCreate,
    idempotency_key: str,
    idempotency_ttl: timedelta,
    source: str,
) -> tuple[StoredResponse, bool]:
    """Place an order (or replay the answer to an earlier identical request).

    Returns the response and whether it is a replay. The idempotency claim, the order, its
    ``order.created.v1`` outbox row and the stored response are written in one transaction, in
    two statements: claim and product lookup, then the writes.
    """
    request_hash = idempotency.fingerprint(
        user_id=principal.user_id, body_json=body.model_dump_json()
    )
    claimed, found = await repository.claim_key_and_find_products(
        session,
        key=idempotency_key,
        request_hash=request_hash,
        ttl=idempotency_ttl,
        product_ids=[line.product_id for line in body.lines],
    )
    if not claimed:
        stored = await idempotency.stored_response(
            session, key=idempotency_key, request_hash=request_hash
        )
        return stored, True
    lines, currency = _price_lines(body, found)
    now = datetime.now(UTC)
    order_id = uuid.uuid4()
    total = sum(line.line_total_cents for line in lines)
    line_dicts = [line.model_dump(mode="json") for line in lines]
    event = OrderCreatedV1(
        order_id=order_id,
        user_id=principal.user_id,
        lines=lines,
        total_cents=total,
        currency=currency,
        note=body.note,
        created_at=now,
    )
    public = OrderPublic(
        id=order_id,
        user_id=principal.user_id,
        status=OrderStatus.CREATED,
        lines=[OrderLinePublic.model_validate(line) for line in line_dicts],
        total_cents=total,
        currency=currency,
        note=body.note,
        version=1,
        created_at=now,
        updated_at=now,
    )
    response = StoredResponse(status_code=201, body=public.model_dump_json())
    await repository.write_new_order(
        session,
        order={
            "id": order_id,
            "user_id": principal.user_id,
            "status": OrderStatus.CREATED.value,
            "lines": json.dumps(line_dicts),
            "total_cents": total,
            "currency": currency,
            "note": body.note,
            "created_at": now,
        },
        event=outbox_row(event, tenant_id=session.tenant_id, source=source, occurred_at=now),
        idempotency_key=idempotency_key,
        response=(response.status_code, response.body),
    )
    return response, False


async def get_order(
    session: TenantSession, *, principal: Principal, order_id: uuid.UUID
) -> OrderPublic:
    """Return one order the principal may see; 404 otherwise (not 403: existence is private)."""
    row = await repository.get_order(session, order_id, user_id=_visible_to(principal))
    if row is None:
        raise NotFoundError("no such order")
    return OrderPublic.model_validate(row)


async def list_orders(
    session: TenantSession,
    *,
    principal: Principal,
    status: OrderStatus | None,
    limit: int,
    cursor: str | None,
) -> OrderPage:
    """Return one page of the orders the principal may see."""
    after = decode_cursor(cursor) if cursor else None
    rows: Sequence[Any] = await repository.list_orders(
        session, user_id=_visible_to(principal), status=status, limit=limit + 1, after=after
    )
    items = [OrderPublic.model_validate(row) for row in rows[:limit]]
    next_cursor = encode_cursor(items[-1].created_at, items[-1].id) if len(rows) > limit else None
    return OrderPage(items=items, next_cursor=next_cursor)


async def change_status(
    session: TenantSession,
    *,
    principal: Principal,
    order_id: uuid.UUID,
    target: OrderStatus,
    source: str,
) -> OrderPublic:
    """Move an order to ``target`` and write the matching event, under the order's row lock."""
    row = await repository.get_order(
        session, order_id, user_id=_visible_to(principal), for_update=True
    )
    if row is None:
        raise NotFoundError("no such order")
    current = OrderStatus(row.status)
    check_transition(principal=principal, owner=row.user_id, current=current, target=target)
    now = datetime.now(UTC)
    updated = await repository.set_status(session, order_id, status=target, at=now)
    event = status_changed(
        to_status=target,
        order_id=order_id,
        user_id=row.user_id,
        from_status=current,
        changed_by=principal.user_id,
        occurred_at=now,
    )
    await _write_event(session, event, source=source, at=now)
    return OrderPublic.model_validate(updated)
