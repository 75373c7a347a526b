"""Tenant isolation on every route, and row-level security underneath the application's filters."""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import AsyncIterator

import asyncpg
import pytest
import sqlalchemy.exc
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from ragline_common.db import TransactionAbortedError, create_engine, tenant_session
from tests.integration.api.conftest import Api, Tenants, create_products

pytestmark = pytest.mark.integration


async def acme_order(api: Api, tenants: Tenants) -> tuple[dict[str, str], dict[str, str]]:
    products = await create_products(api, tenants, "acme")
    order = await api.client.post(
        "/v1/orders",
        json={"lines": [{"product_id": products[0]["id"], "quantity": 1}]},
        headers={**tenants.headers("acme"), "Idempotency-Key": "shared-key"},
    )
    assert order.status_code == 201
    return products[0], order.json()


async def test_another_tenant_can_neither_read_nor_change_anything(
    api: Api, tenants: Tenants
) -> None:
    product, order = await acme_order(api, tenants)
    globex = tenants.headers("globex", roles=["admin"])
    product_url, order_url = f"/v1/products/{product['id']}", f"/v1/orders/{order['id']}"

    assert (await api.client.get(product_url, headers=globex)).status_code == 404
    patched = await api.client.patch(product_url, json={"price_cents": 1}, headers=globex)
    assert patched.status_code == 404
    assert (await api.client.delete(product_url, headers=globex)).status_code == 404
    assert (await api.client.get("/v1/products", headers=globex)).json()["items"] == []
    assert (await api.client.get(order_url, headers=globex)).status_code == 404
    moved = await api.client.patch(order_url, json={"status": "cancelled"}, headers=globex)
    assert moved.status_code == 404
    assert (await api.client.get("/v1/orders", headers=globex)).json()["items"] == []
    # Ordering another tenant's product: it does not exist for globex.
    foreign = await api.client.post(
        "/v1/orders",
        json={"lines": [{"product_id": product["id"], "quantity": 1}]},
        headers={**globex, "Idempotency-Key": "foreign"},
    )
    assert foreign.status_code == 422
    assert foreign.json()["errors"][0]["type"] == "unknown"
    # The same Idempotency-Key in another tenant is another key: no replay of acme's order.
    assert (
        await api.client.post(
            "/v1/orders",
            json={"lines": [{"product_id": product["id"], "quantity": 1}]},
            headers={**globex, "Idempotency-Key": "shared-key"},
        )
    ).status_code == 422

    acme = tenants.headers("acme")
    assert (await api.client.get(product_url, headers=acme)).json() == product
    assert (await api.client.get(order_url, headers=acme)).json()["status"] == "created"


@pytest.fixture
async def engine(api_database: str) -> AsyncIterator[AsyncEngine]:
    engine = create_engine(api_database, pool_size=2, max_overflow=0)
    try:
        yield engine
    finally:
        await engine.dispose()


async def test_row_level_security_hides_other_tenants_rows_without_any_app_filter(
    api: Api, tenants: Tenants, engine: AsyncEngine
) -> None:
    product, order = await acme_order(api, tenants)
    await create_products(api, tenants, "globex")

    async with tenant_session(engine, tenant_id="globex", role="ragline_app") as session:
        assert (await session.execute(text("SELECT current_user"))).scalar() == "ragline_app"
        # Raw SQL, no tenant condition: only row-level security stands between globex and acme.
        skus = (await session.execute(text("SELECT tenant_id FROM products"))).scalars().all()
        assert set(skus) == {"globex"}
        by_id = await session.execute(
            text("SELECT * FROM products WHERE id = :id"), {"id": uuid.UUID(product["id"])}
        )
        assert by_id.first() is None
        assert (await session.execute(text("SELECT count(*) FROM orders"))).scalar() == 0
        assert (await session.execute(text("SELECT count(*) FROM idempotency_keys"))).scalar() == 0
        updated = await session.execute(
            text("UPDATE products SET price_cents = 1 WHERE id = :id"),
            {"id": uuid.UUID(product["id"])},
        )
        assert updated.rowcount == 0
        cancelled = await session.execute(
            text("UPDATE orders SET status = 'cancelled' WHERE id = :id"),
            {"id": uuid.UUID(order["id"])},
        )
        assert cancelled.rowcount == 0

    with pytest.raises(sqlalchemy.exc.DBAPIError, match="row-level security"):
        async with tenant_session(engine, tenant_id="globex", role="ragline_app") as session:
            await session.execute(
                text(
                    "INSERT INTO products (id, tenant_id, sku, name, price_cents, currency) "
                    "VALUES (gen_random_uuid(), 'acme', 'smuggled', 'X', 1, 'EUR')"
                )
            )

    # Without a tenant setting the application role sees nothing at all.
    async with engine.connect() as conn, conn.begin():
        await conn.execute(text("SET LOCAL ROLE ragline_app"))
        assert (await conn.execute(text("SELECT count(*) FROM products"))).scalar() == 0
    # And the rows are there: the superuser (who bypasses RLS) sees both tenants'.
    async with engine.connect() as conn:
        tenants_seen = (
            await conn.execute(text("SELECT DISTINCT tenant_id FROM products"))
        ).scalars()
        assert set(tenants_seen) == {"acme", "globex"}
        assert (await conn.execute(text("SELECT count(*) FROM orders"))).scalar() == 1


async def test_the_tenant_setting_does_not_leak_into_the_next_transaction(
    engine: AsyncEngine,
) -> None:
    async with tenant_session(engine, tenant_id="acme", role="ragline_app") as session:
        setting = await session.execute(text("SELECT current_setting('app.tenant_id')"))
        assert setting.scalar() == "acme"
    async with engine.connect() as conn:
        leftover = await conn.execute(
            text("SELECT current_user, current_setting('app.tenant_id', true)")
        )
        user, tenant = leftover.one()
        assert user == "postgres"
        assert tenant in (None, "")


async def test_a_session_begun_on_the_driver_is_scoped_and_atomic(
    api: Api, tenants: Tenants, engine: AsyncEngine
) -> None:
    await create_products(api, tenants, "acme")
    # A tenant id that would break out of a badly quoted literal is just an unknown tenant.
    for tenant in ("globex", "x'); SET LOCAL ROLE postgres; SELECT ('"):
        async with tenant_session(engine, tenant_id=tenant, role="ragline_app") as session:
            driver = await session.driver()
            user, seen = await driver.fetchrow(
                "SELECT current_user, current_setting('app.tenant_id')"
            )
            assert (user, seen) == ("ragline_app", tenant)
            assert await driver.fetchval("SELECT count(*) FROM products") == 0
            with pytest.raises(RuntimeError, match="driver statements only"):
                await session.execute(text("SELECT 1"))

    async def cheapen_then_fail() -> None:
        async with tenant_session(engine, tenant_id="acme", role="ragline_app") as session:
            driver = await session.driver()
            await driver.execute("UPDATE products SET price_cents = 1")
            raise ZeroDivisionError

    with pytest.raises(ZeroDivisionError):
        await cheapen_then_fail()
    async with engine.connect() as conn:
        prices = (await conn.execute(text("SELECT price_cents FROM products"))).scalars()
        assert 1 not in set(prices)  # rolled back
        # The pooled connection came back idle, as the owner, without the tenant.
        user, tenant = (
            await conn.execute(text("SELECT current_user, current_setting('app.tenant_id', true)"))
        ).one()
        assert (user, tenant or None) == ("postgres", None)


async def test_a_failed_statement_on_the_driver_rolls_back_and_pools_a_clean_connection(
    engine: AsyncEngine,
) -> None:
    async def smuggle() -> None:
        async with tenant_session(engine, tenant_id="globex", role="ragline_app") as session:
            driver = await session.driver()
            await driver.execute(
                "INSERT INTO products (id, tenant_id, sku, name, price_cents, currency) "
                "VALUES (gen_random_uuid(), 'acme', 'smuggled', 'X', 1, 'EUR')"
            )

    with pytest.raises(asyncpg.InsufficientPrivilegeError, match="row-level security"):
        await smuggle()
    for _ in range(2):  # both pooled connections
        async with tenant_session(engine, tenant_id="acme", role="ragline_app") as session:
            driver = await session.driver()
            assert await driver.fetchval("SELECT count(*) FROM products") == 0


async def test_a_commit_after_a_swallowed_failure_is_not_taken_for_a_commit(
    engine: AsyncEngine,
) -> None:
    async def write_after_a_failure() -> None:
        async with tenant_session(engine, tenant_id="acme", role="ragline_app") as session:
            driver = await session.driver()
            await driver.execute(
                "INSERT INTO products (id, tenant_id, sku, name, price_cents, currency) "
                "VALUES (gen_random_uuid(), 'acme', 'kept?', 'X', 1, 'EUR')"
            )
            with contextlib.suppress(asyncpg.PostgresError):
                await driver.execute("SELECT 1 / 0")

    with pytest.raises(TransactionAbortedError):
        await write_after_a_failure()
    async with engine.connect() as conn:
        assert (await conn.execute(text("SELECT count(*) FROM products"))).scalar() == 0
