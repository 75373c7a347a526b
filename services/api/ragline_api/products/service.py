"""Product use cases: CRUD with cache-aside reads and after-commit invalidation."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from datetime import UTC, datetime

from sqlalchemy.exc import IntegrityError

from ragline_api.pagination import decode_cursor, encode_cursor
from ragline_api.products import repository
from ragline_api.products.repository import ProductFilter
from ragline_api.products.schemas import ProductCreate, ProductPage, ProductPublic, ProductUpdate
from ragline_common.cache import LeasedCache
from ragline_common.db import TenantSession
from ragline_common.errors import ConflictError, FieldProblem, NotFoundError, UnprocessableError

SKU_CONSTRAINT = "products_tenant_sku_key"


def cache_key(tenant_id: str, product_id: uuid.UUID) -> str:
    """Return the cache key of a product: scoped by tenant, so no tenant reads another's entry."""
    return f"{tenant_id}:product:{product_id}"


def _sku_conflict(sku: str) -> ConflictError:
    return ConflictError(
        f"a product with SKU {sku!r} exists already",
        errors=[FieldProblem(field="sku", message="already taken", type="unique")],
    )


def _invalidate_after_commit(
    session: TenantSession, cache: LeasedCache, product_id: uuid.UUID
) -> None:
    key = cache_key(session.tenant_id, product_id)

    async def invalidate() -> None:
        await cache.invalidate(key)

    session.after_commit(invalidate)


async def create_product(
    session: TenantSession, cache: LeasedCache, body: ProductCreate
) -> ProductPublic:
    """Create a product; a taken SKU is a 409 naming ``sku``."""
    now = datetime.now(UTC)
    product_id = uuid.uuid4()
    row = await repository.insert_product(
        session,
        {"id": product_id, "created_at": now, "updated_at": now, "version": 1, **body.model_dump()},
    )
    if row is None:
        raise _sku_conflict(body.sku)
    # A reader may have cached "absent" for this id; ids are random, but be exact anyway.
    _invalidate_after_commit(session, cache, product_id)
    return ProductPublic.model_validate(row)


async def product_json(
    open_session: Callable[[], AbstractAsyncContextManager[TenantSession]],
    cache: LeasedCache,
    *,
    tenant_id: str,
    product_id: uuid.UUID,
) -> bytes:
    """Return the product's JSON, from the cache when it holds it; 404 if there is none.

    ``open_session`` is called only on a miss: a hit never touches PostgreSQL.
    """

    async def load() -> bytes | None:
        async with open_session() as session:
            row = await repository.get_product(session, product_id)
        return None if row is None else ProductPublic.model_validate(row).model_dump_json().encode()

    value = await cache.get_or_load(cache_key(tenant_id, product_id), load)
    if value is None:
        raise NotFoundError("no such product")
    return value


async def list_products(
    session: TenantSession, *, filters: ProductFilter, limit: int, cursor: str | None
) -> ProductPage:
    """Return one page of products (not cached: listings change with every write)."""
    after = decode_cursor(cursor) if cursor else None
    rows = await repository.list_products(session, filters=filters, limit=limit + 1, after=after)
    items = [ProductPublic.model_validate(row) for row in rows[:limit]]
    next_cursor = None
    if len(rows) > limit:
        next_cursor = encode_cursor(items[-1].created_at, items[-1].id)
    return ProductPage(items=items, next_cursor=next_cursor)


async def update_product(
    session: TenantSession, cache: LeasedCache, product_id: uuid.UUID, body: ProductUpdate
) -> ProductPublic:
    """Apply a partial update; an empty one is a 422, a taken SKU a 409."""
    changes = body.model_dump(exclude_unset=True)
    if not changes:
        raise UnprocessableError(
            "nothing to update",
            errors=[FieldProblem(field="body", message="send at least one field", type="empty")],
        )
    try:
        row = await repository.update_product(session, product_id, changes)
    except IntegrityError as exc:
        if SKU_CONSTRAINT in str(exc.orig):
            raise _sku_conflict(str(changes.get("sku"))) from None
        raise
    if row is None:
        raise NotFoundError("no such product")
    _invalidate_after_commit(session, cache, product_id)
    return ProductPublic.model_validate(row)


async def delete_product(session: TenantSession, cache: LeasedCache, product_id: uuid.UUID) -> None:
    """Delete a product; 404 if the tenant has none by that id."""
    if not await repository.delete_product(session, product_id):
        raise NotFoundError("no such product")
    _invalidate_after_commit(session, cache, product_id)
