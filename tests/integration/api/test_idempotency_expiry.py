"""Idempotency keys expire: an expired key places a new order, and expired rows are purged."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

import asyncpg
import pytest

from ragline_api.app import create_app
from ragline_api.orders import idempotency
from ragline_api.settings import ApiSettings
from tests.integration.api.conftest import Api, Tenants, create_products

pytestmark = pytest.mark.integration

TTL = timedelta(days=1)


def order_body(products: list[dict[str, Any]], quantity: int = 2) -> dict[str, Any]:
    return {"lines": [{"product_id": products[0]["id"], "quantity": quantity}]}


async def _execute(dsn: str, sql: str, *args: object) -> None:
    conn = await asyncpg.connect(dsn)
    try:
        await conn.execute(sql, *args)
    finally:
        await conn.close()


async def _fetch(dsn: str, sql: str, *args: object) -> list[asyncpg.Record]:
    conn = await asyncpg.connect(dsn)
    try:
        rows: list[asyncpg.Record] = await conn.fetch(sql, *args)
        return rows
    finally:
        await conn.close()


async def age_keys(dsn: str, keys: list[str], by: timedelta) -> None:
    """Move the keys' creation back in time, as if they were claimed ``by`` ago."""
    await _execute(
        dsn,
        "UPDATE idempotency_keys SET created_at = now() - $2::interval WHERE key = ANY($1)",
        keys,
        by,
    )


async def test_a_key_past_its_ttl_places_a_new_order(
    api: Api, tenants: Tenants, api_database: str
) -> None:
    products = await create_products(api, tenants, "acme")
    headers = {**tenants.headers("acme"), "Idempotency-Key": "lunch-1"}
    first = await api.client.post("/v1/orders", json=order_body(products), headers=headers)
    assert first.status_code == 201
    await age_keys(api_database, ["lunch-1"], TTL + timedelta(minutes=1))

    again = await api.client.post("/v1/orders", json=order_body(products), headers=headers)

    assert again.status_code == 201
    assert "idempotent-replayed" not in again.headers
    assert again.json()["id"] != first.json()["id"]
    # The key is live again and answers with the new order; another body is refused again.
    replay = await api.client.post("/v1/orders", json=order_body(products), headers=headers)
    assert replay.headers.get("idempotent-replayed") == "true"
    assert replay.content == again.content
    other = await api.client.post("/v1/orders", json=order_body(products, 5), headers=headers)
    assert other.status_code == 422
    assert other.json()["errors"][0]["field"] == "Idempotency-Key"
    rows = await _fetch(api_database, "SELECT count(*) AS n FROM orders")
    assert rows[0]["n"] == 2
    assert (await _fetch(api_database, "SELECT count(*) AS n FROM outbox"))[0]["n"] == 2
    assert api.metric("ragline_api_orders_created_total") == 2


async def test_an_expired_key_may_carry_another_body(
    api: Api, tenants: Tenants, api_database: str
) -> None:
    products = await create_products(api, tenants, "acme")
    headers = {**tenants.headers("acme"), "Idempotency-Key": "lunch-2"}
    first = await api.client.post("/v1/orders", json=order_body(products, 1), headers=headers)
    assert first.status_code == 201
    await age_keys(api_database, ["lunch-2"], TTL + timedelta(seconds=5))

    second = await api.client.post("/v1/orders", json=order_body(products, 3), headers=headers)

    assert second.status_code == 201
    assert second.json()["lines"][0]["quantity"] == 3


async def test_a_key_within_its_ttl_still_replays(
    api: Api, tenants: Tenants, api_database: str
) -> None:
    products = await create_products(api, tenants, "acme")
    headers = {**tenants.headers("acme"), "Idempotency-Key": "lunch-3"}
    first = await api.client.post("/v1/orders", json=order_body(products), headers=headers)
    await age_keys(api_database, ["lunch-3"], TTL - timedelta(minutes=1))

    again = await api.client.post("/v1/orders", json=order_body(products), headers=headers)

    assert again.status_code == 201
    assert again.headers.get("idempotent-replayed") == "true"
    assert again.content == first.content
    assert (await _fetch(api_database, "SELECT count(*) AS n FROM orders"))[0]["n"] == 1


async def _place_orders(api: Api, tenants: Tenants, tenant: str, keys: list[str]) -> None:
    products = await create_products(api, tenants, tenant)
    for key in keys:
        headers = {**tenants.headers(tenant), "Idempotency-Key": key}
        response = await api.client.post("/v1/orders", json=order_body(products), headers=headers)
        assert response.status_code == 201


async def _remaining_keys(dsn: str) -> set[tuple[str, str]]:
    rows = await _fetch(dsn, "SELECT tenant_id, key FROM idempotency_keys")
    return {(row["tenant_id"], row["key"]) for row in rows}


async def test_the_purge_deletes_only_expired_keys_of_every_tenant_in_bounded_batches(
    api: Api, tenants: Tenants, api_database: str
) -> None:
    await _place_orders(api, tenants, "acme", ["a-old-1", "a-old-2", "a-old-3", "a-new"])
    await _place_orders(api, tenants, "globex", ["g-old-1", "g-old-2", "g-new"])
    expired = ["a-old-1", "a-old-2", "a-old-3", "g-old-1", "g-old-2"]
    await age_keys(api_database, expired, TTL + timedelta(hours=1))
    await age_keys(api_database, ["a-new"], TTL - timedelta(minutes=5))
    engine = api.state.engine

    # One run deletes at most max_batches * batch_size rows, oldest first.
    first = await idempotency.purge_all_expired(engine, ttl=TTL, batch_size=2, max_batches=1)
    assert first == 2
    assert len(await _remaining_keys(api_database)) == 7 - 2
    rest = await idempotency.purge_all_expired(engine, ttl=TTL, batch_size=2, max_batches=10)

    assert rest == 3
    assert await _remaining_keys(api_database) == {("acme", "a-new"), ("globex", "g-new")}
    assert await idempotency.purge_all_expired(engine, ttl=TTL, batch_size=2, max_batches=10) == 0
    # The orders stay: only the keys expire.
    assert (await _fetch(api_database, "SELECT count(*) AS n FROM orders"))[0]["n"] == 7


async def test_the_api_purges_expired_keys_in_the_background(
    api: Api, api_settings: ApiSettings, tenants: Tenants, api_database: str
) -> None:
    await _place_orders(api, tenants, "acme", ["old", "new"])
    await age_keys(api_database, ["old"], TTL + timedelta(hours=1))
    settings = api_settings.model_copy(update={"idempotency_purge_interval_seconds": 0.05})
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        for _ in range(200):
            if await _remaining_keys(api_database) == {("acme", "new")}:
                break
            await asyncio.sleep(0.05)
        assert await _remaining_keys(api_database) == {("acme", "new")}
        purged = app.state.api.metrics.registry.get_sample_value(
            "ragline_api_idempotency_keys_purged_total"
        )
        assert purged == 1
