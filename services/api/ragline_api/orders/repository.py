"""Order and outbox writes and order queries, always filtered on the tenant (RLS underneath)."""

from __future__ import annotations

import json
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Row, and_, insert, select, tuple_, update

from ragline_api.orders.idempotency import CLAIM_CTE
from ragline_api.tables import orders, outbox
from ragline_common.db import TenantSession
from ragline_common.events import OrderStatus

COLUMNS = [
    orders.c.id,
    orders.c.user_id,
    orders.c.status,
    orders.c.lines,
    orders.c.total_cents,
    orders.c.currency,
    orders.c.note,
    orders.c.version,
    orders.c.created_at,
    orders.c.updated_at,
]


# The order-placing statements run on the driver (see ragline_common.db): they are the API's
# busiest writes, and SQLAlchemy's per-statement cost was a good part of an order's CPU.

# The claim of the key and the products to price in one round trip (one row even when no product
# matches, so ``claimed`` is always there). The claim runs whether or not a product matches.
_CLAIM_AND_FIND_PRODUCTS = f"""
WITH {CLAIM_CTE}
SELECT (SELECT count(*) FROM claim) AS claimed,
       p.id, p.sku, p.name, p.price_cents, p.currency, p.available
FROM (SELECT 1) AS one
LEFT JOIN products AS p
  ON p.tenant_id = $1 AND p.id = ANY(CAST($5 AS uuid[]))
"""  # noqa: S608 - the f-string inserts a constant CTE, never input


@dataclass(frozen=True)
class ProductToPrice:
    """What pricing an order line needs of a product."""

    id: uuid.UUID
    sku: str
    name: str
    price_cents: int
    currency: str
    available: bool


async def claim_key_and_find_products(
    session: TenantSession,
    *,
    key: str,
    request_hash: str,
    ttl: timedelta,
    product_ids: Sequence[uuid.UUID],
) -> tuple[bool, dict[uuid.UUID, ProductToPrice]]:
    """Claim the idempotency key and return whether it is ours, and the products found, by id.

    Unclaimed (a live key, answered before or in flight), the caller replays the stored answer
    instead of using the products.
    """
    driver = await session.driver()
    rows = await driver.fetch(
        _CLAIM_AND_FIND_PRODUCTS, session.tenant_id, key, request_hash, ttl, list(product_ids)
    )
    found = {row["id"]: ProductToPrice(*row[1:]) for row in rows if row["id"] is not None}
    return bool(rows[0]["claimed"]), found


# The order, its outbox row and the stored idempotent response in one statement (one round trip
# instead of three); data-modifying CTEs all run, and any failure fails the whole statement.
_WRITE_NEW_ORDER = """
WITH new_order AS (
  INSERT INTO orders (id, tenant_id, user_id, status, lines, total_cents, currency, note,
                      version, created_at, updated_at)
  VALUES ($1, $2, $3, $4, CAST($5 AS jsonb), $6, $7, $8, 1, $9, $9)
), new_event AS (
  INSERT INTO outbox (id, aggregatetype, aggregateid, type, payload, tenant_id, created_at)
  VALUES ($10, $11, $12, $13, CAST($14 AS jsonb), $2, $9)
)
UPDATE idempotency_keys SET status_code = $16, response = $17
WHERE tenant_id = $2 AND key = $15
"""


async def write_new_order(
    session: TenantSession,
    *,
    order: dict[str, Any],
    event: dict[str, Any],
    idempotency_key: str,
    response: tuple[int, str],
) -> None:
    """Insert ``order`` and its outbox row ``event`` and store the response under the key.

    ``order["lines"]`` is passed as JSON text (encoded once); the event's ``created_at`` is the
    order's.
    """
    status_code, body = response
    driver = await session.driver()
    await driver.execute(
        _WRITE_NEW_ORDER,
        order["id"],
        session.tenant_id,
        order["user_id"],
        order["status"],
        order["lines"],
        order["total_cents"],
        order["currency"],
        order["note"],
        order["created_at"],
        event["id"],
        event["aggregatetype"],
        event["aggregateid"],
        event["type"],
        json.dumps(event["payload"]),
        idempotency_key,
        status_code,
        body,
    )


async def insert_outbox(session: TenantSession, row: dict[str, Any]) -> None:
    """Insert an outbox row (same transaction as the change it announces)."""
    await session.execute(insert(outbox).values(**row))


async def get_order(
    session: TenantSession, order_id: uuid.UUID, *, user_id: str | None, for_update: bool = False
) -> Row[Any] | None:
    """Return the order, restricted to ``user_id``'s orders when given; optionally locked."""
    statement = select(*COLUMNS).where(
        orders.c.tenant_id == session.tenant_id, orders.c.id == order_id
    )
    if user_id is not None:
        statement = statement.where(orders.c.user_id == user_id)
    if for_update:
        statement = statement.with_for_update()
    return (await session.execute(statement)).first()


async def set_status(
    session: TenantSession, order_id: uuid.UUID, *, status: OrderStatus, at: datetime
) -> Row[Any]:
    """Set the order's status; the caller holds the row lock and checked the transition."""
    statement = (
        update(orders)
        .where(orders.c.tenant_id == session.tenant_id, orders.c.id == order_id)
        .values(status=status.value, version=orders.c.version + 1, updated_at=at)
        .returning(*COLUMNS)
    )
    return (await session.execute(statement)).one()


async def list_orders(
    session: TenantSession,
    *,
    user_id: str | None,
    status: OrderStatus | None,
    limit: int,
    after: tuple[datetime, uuid.UUID] | None,
) -> Sequence[Row[Any]]:
    """Return up to ``limit`` orders after the cursor position, oldest first."""
    conditions = [orders.c.tenant_id == session.tenant_id]
    if user_id is not None:
        conditions.append(orders.c.user_id == user_id)
    if status is not None:
        conditions.append(orders.c.status == status.value)
    if after is not None:
        conditions.append(tuple_(orders.c.created_at, orders.c.id) > tuple_(*after))
    statement = (
        select(*COLUMNS)
        .where(and_(*conditions))
        .order_by(orders.c.created_at, orders.c.id)
        .limit(limit)
    )
    return (await session.execute(statement)).all()
