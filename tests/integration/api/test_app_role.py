"""Every query the API runs is the application role's, in a tenant scope.

The tests elsewhere connect as the superuser, who bypasses row-level security: a path that forgot
``SET ROLE`` would pass them. Here the API logs in as a role that holds no privilege on any table
itself and does not inherit ``ragline_app``'s (``NOINHERIT``): a statement outside the role's
scope is refused outright, so a whole tour of the API succeeding proves every path switched.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator

import asyncpg
import httpx
import pytest
from redis.asyncio import Redis

from ragline_api.app import create_app
from ragline_api.settings import ApiSettings
from ragline_common.db import plain_dsn
from tests.integration.api.conftest import Api, Tenants

pytestmark = pytest.mark.integration

LOGIN = "ragline_api_login"
# Roles are cluster-wide: created once, granted again in each fresh database's cluster (a no-op).
_CREATE_LOGIN = f"""
DO $$ BEGIN
  CREATE ROLE {LOGIN} LOGIN NOINHERIT;
EXCEPTION WHEN duplicate_object THEN NULL;
END $$;
GRANT ragline_app TO {LOGIN};
"""


@pytest.fixture
async def login_dsn(api_database: str) -> str:
    owner = await asyncpg.connect(plain_dsn(api_database))
    try:
        await owner.execute(_CREATE_LOGIN)
    finally:
        await owner.close()
    return api_database.replace("://postgres@", f"://{LOGIN}@", 1)


@pytest.fixture
async def api_as_login(
    login_dsn: str, redis_client: Redis, api_settings: ApiSettings
) -> AsyncIterator[Api]:
    # The purge runs as the table owner by design (one statement for every tenant): here its
    # first run fails (logged) and the next is an hour away.
    settings = api_settings.model_copy(
        update={"database_url": login_dsn, "idempotency_purge_interval_seconds": 3600}
    )
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
        async with httpx.AsyncClient(transport=transport, base_url="http://api") as client:
            yield Api(app=app, client=client)


async def test_the_login_alone_may_read_no_table(login_dsn: str) -> None:
    conn = await asyncpg.connect(plain_dsn(login_dsn))
    try:
        for table in ("products", "orders", "idempotency_keys", "outbox"):
            with pytest.raises(asyncpg.InsufficientPrivilegeError):
                await conn.fetchval(f"SELECT count(*) FROM {table}")
    finally:
        await conn.close()


async def test_every_route_runs_as_the_application_role(
    api_as_login: Api, tenants: Tenants
) -> None:
    client, staff = api_as_login.client, tenants.headers("acme")
    customer = tenants.headers("acme", user="bob", roles=["customer"])
    body = {"sku": "margherita", "name": "Pizza", "price_cents": 950, "category": "pizza"}
    created = await client.post("/v1/products", json=body, headers=staff)
    assert created.status_code == 201, created.text
    product_url = f"/v1/products/{created.json()['id']}"
    assert (await client.get(product_url, headers=customer)).status_code == 200  # a miss: the DB
    assert (await client.get(product_url, headers=customer)).status_code == 200  # a hit
    assert (await client.get(product_url, params={"x": 1}, headers=customer)).status_code == 200
    assert (await client.get(f"/v1/products/{uuid.uuid4()}", headers=staff)).status_code == 404
    assert (await client.get("/v1/products", headers=staff)).json()["items"][0][
        "sku"
    ] == "margherita"
    patched = await client.patch(product_url, json={"price_cents": 1000}, headers=staff)
    assert patched.status_code == 200

    order = {"lines": [{"product_id": created.json()["id"], "quantity": 2}]}
    key = {"Idempotency-Key": "tour"}
    placed = await client.post("/v1/orders", json=order, headers={**customer, **key})
    assert placed.status_code == 201, placed.text
    routed = await client.post(
        "/v1/orders", json=order, params={"via": "route"}, headers={**customer, **key}
    )
    assert routed.headers["idempotent-replayed"] == "true"
    order_url = f"/v1/orders/{placed.json()['id']}"
    assert (await client.get(order_url, headers=customer)).json()["total_cents"] == 2000
    assert len((await client.get("/v1/orders", headers=staff)).json()["items"]) == 1
    moved = await client.patch(order_url, json={"status": "confirmed"}, headers=staff)
    assert moved.status_code == 200, moved.text
    assert (await client.delete(product_url, headers=staff)).status_code == 204
