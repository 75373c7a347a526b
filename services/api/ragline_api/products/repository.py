"""Product queries. Every one filters on the tenant explicitly, and row-level security filters
again underneath: a bug in one layer does not leak rows across tenants."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Row, and_, delete, func, select, tuple_, update
from sqlalchemy.dialects.postgresql import insert as pg_insert

from ragline_api.tables import products
from ragline_common.db import TenantSession

COLUMNS = [
    products.c.id,
    products.c.sku,
    products.c.name,
    products.c.description,
    products.c.price_cents,
    products.c.currency,
    products.c.category,
    products.c.available,
    products.c.version,
    products.c.created_at,
    products.c.updated_at,
]


@dataclass(frozen=True)
class ProductFilter:
    """Optional filters of a product listing."""

    category: str | None = None
    available: bool | None = None
    name_contains: str | None = None
    min_price_cents: int | None = None
    max_price_cents: int | None = None


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


async def insert_product(session: TenantSession, values: dict[str, Any]) -> Row[Any] | None:
    """Insert a product; return it, or None when its SKU is taken in the tenant."""
    statement = (
        pg_insert(products)
        .values(tenant_id=session.tenant_id, **values)
        .on_conflict_do_nothing(constraint="products_tenant_sku_key")
        .returning(*COLUMNS)
    )
    return (await session.execute(statement)).first()


async def get_product(session: TenantSession, product_id: uuid.UUID) -> Row[Any] | None:
    """Return the tenant's product ``product_id``, if any."""
    statement = select(*COLUMNS).where(
        products.c.tenant_id == session.tenant_id, products.c.id == product_id
    )
    return (await session.execute(statement)).first()


async def list_products(
    session: TenantSession,
    *,
    filters: ProductFilter,
    limit: int,
    after: tuple[datetime, uuid.UUID] | None,
) -> Sequence[Row[Any]]:
    """Return up to ``limit`` products after the cursor position, oldest first."""
    conditions = [products.c.tenant_id == session.tenant_id]
    if filters.category is not None:
        conditions.append(products.c.category == filters.category)
    if filters.available is not None:
        conditions.append(products.c.available == filters.available)
    if filters.name_contains:
        pattern = f"%{_escape_like(filters.name_contains)}%"
        conditions.append(products.c.name.ilike(pattern, escape="\\"))
    if filters.min_price_cents is not None:
        conditions.append(products.c.price_cents >= filters.min_price_cents)
    if filters.max_price_cents is not None:
        conditions.append(products.c.price_cents <= filters.max_price_cents)
    if after is not None:
        conditions.append(tuple_(products.c.created_at, products.c.id) > tuple_(*after))
    statement = (
        select(*COLUMNS)
        .where(and_(*conditions))
        .order_by(products.c.created_at, products.c.id)
        .limit(limit)
    )
    return (await session.execute(statement)).all()


async def update_product(
    session: TenantSession, product_id: uuid.UUID, changes: dict[str, Any]
) -> Row[Any] | None:
    """Apply ``changes``; return the updated product, or None if the tenant has no such product.

    Raises :class:`sqlalchemy.exc.IntegrityError` if the SKU changes to one that is taken.
    """
    statement = (
        update(products)
        .where(products.c.tenant_id == session.tenant_id, products.c.id == product_id)
        .values(**changes, version=products.c.version + 1, updated_at=func.now())
        .returning(*COLUMNS)
    )
    return (await session.execute(statement)).first()


async def delete_product(session: TenantSession, product_id: uuid.UUID) -> bool:
    """Delete the tenant's product ``product_id``; return whether there was one."""
    statement = (
        delete(products)
        .where(products.c.tenant_id == session.tenant_id, products.c.id == product_id)
        .returning(products.c.id)
    )
    return (await session.execute(statement)).first() is not None
