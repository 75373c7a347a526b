"""Order and outbox writes and order queries, always filtered on the tenant (RLS underneath)."""

from __future__ import annotations

import json
import uuid
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Row, and_, insert, select, text, tuple_, update

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


# The claim of the key and the products to price in one round trip (one row even when no product
# matches, so ``claimed`` is always there). The claim runs whether or not a product matches.
_CLAIM_AND_FIND_PRODUCTS = text(f"""
WITH {CLAIM_CTE}
SELECT (SELECT count(*) FROM claim) AS claimed,
       p.id, p.sku, p.name, p.price_cents, p.currency, p.available
FROM (SELECT 1) AS one
LEFT JOIN products AS p
  ON p.tenant_id = :tenant_id AND p.id = ANY(CAST(:ids AS uuid[]))
""")  # noqa: S608 - the f-string inserts a constant CTE, never input


async def claim_key_and_find_products(
    session: TenantSession,
    *,
    key: str,
    request_hash: str,
    ttl: timedelta,
    product_ids: Sequence[uuid.UUID],
) -> tuple[bool, dict[uuid.UUID, Row[Any]]]:
    """Claim the idempotency key and return whether it is ours, and the products found, by id.

    Unclaimed (a live key, answered before or in flight), the caller replays the stored answer
    instead of using the products.
    """
    params = {
        "tenant_id": session.tenant_id,
        "key": key,
        "hash": request_hash,
        "ttl": ttl,
        "ids": list(product_ids),
    }
    rows = (await session.execute(_CLAIM_AND_FIND_PRODUCTS, params)).all()
    return bool(rows[0].claimed), {row.id: row for row in rows if row.id is not None}


# The order, its outbox row and the stored idempotent response in one statement (one round trip
# instead of three); data-modifying CTEs all run, and any failure fails the whole statement.
_WRITE_NEW_ORDER = text("""
WITH new_order AS (
  INSERT INTO orders (id, tenant_id, user_id, status, lines, total_cents, currency, note,
                      version, created_at, updated_at)
  VALUES (:id, :tenant_id, :user_id, :status, CAST(:lines AS jsonb), :total_cents, :currency,
          :note, 1, :created_at, :created_at)
), new_event AS (
  INSERT INTO outbox (id, aggregatetype, aggregateid, type, payload, tenant_id, created_at)
  VALUES (:event_id, :aggregatetype, :aggregateid, :event_type, CAST(:payload AS jsonb),
          :tenant_id, :created_at)
)
UPDATE idempotency_keys SET status_code = :status_code, response = :response
WHERE tenant_id = :tenant_id AND key = :key
""")


async def write_new_order(
    session: TenantSession,
    *,
    order: dict[str, Any],
    event: dict[str, Any],
    idempotency_key: str,
    response: tuple[int, str],
) -> None:
    """Insert ``order`` and its outbox row ``event`` and store the response under the key.

    ``order["lines"]`` and ``event["payload"]`` are passed as JSON text (encoded once).
    """
    status_code, body = response
    await session.execute(
        _WRITE_NEW_ORDER,
        {
            **order,
            "tenant_id": session.tenant_id,
            "event_id": event["id"],
            "aggregatetype": event["aggregatetype"],
            "aggregateid": event["aggregateid"],
            "event_type": event["type"],
            "payload": json.dumps(event["payload"]),
            "key": idempotency_key,
            "status_code": status_code,
            "response": body,
        },
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
