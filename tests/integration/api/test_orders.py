"""Orders: idempotent creation under concurrency, status transitions, each with its event."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import asyncpg
import pytest

from tests.integration.api.conftest import Api, Tenants, create_products

pytestmark = pytest.mark.integration


def order_body(products: list[dict[str, Any]], quantity: int = 2) -> dict[str, Any]:
    return {"lines": [{"product_id": products[0]["id"], "quantity": quantity}], "note": "no onions"}


def key_headers(headers: dict[str, str], key: str | None = None) -> dict[str, str]:
    return {**headers, "Idempotency-Key": key or uuid.uuid4().hex}


async def count(dsn: str, sql: str, *args: object) -> int:
    conn = await asyncpg.connect(dsn)
    try:
        value: int = await conn.fetchval(sql, *args)
        return value
    finally:
        await conn.close()


async def test_an_order_is_priced_from_the_products(api: Api, tenants: Tenants) -> None:
    products = await create_products(api, tenants, "acme")
    body = {
        "lines": [
            {"product_id": products[0]["id"], "quantity": 2},
            {"product_id": products[2]["id"], "quantity": 1},
        ]
    }
    customer = tenants.headers("acme", user="carol", roles=["customer"])
    response = await api.client.post("/v1/orders", json=body, headers=key_headers(customer))
    assert response.status_code == 201, response.text
    order = response.json()
    assert order["status"] == "created"
    assert order["user_id"] == "carol"
    assert order["total_cents"] == 2 * 950 + 600
    assert [line["line_total_cents"] for line in order["lines"]] == [1900, 600]
    fetched = await api.client.get(f"/v1/orders/{order['id']}", headers=customer)
    assert fetched.json() == order


async def test_fifty_concurrent_identical_requests_make_one_order(
    api: Api, tenants: Tenants, api_database: str
) -> None:
    products = await create_products(api, tenants, "acme")
    headers = key_headers(tenants.headers("acme", roles=["customer"]), "order-42")
    body = order_body(products)

    responses = await asyncio.gather(
        *(api.client.post("/v1/orders", json=body, headers=headers) for _ in range(50))
    )

    assert {r.status_code for r in responses} == {201}, [r.text for r in responses][:3]
    assert len({r.content for r in responses}) == 1  # byte-for-byte the same answer
    assert sum(r.headers.get("idempotent-replayed") == "true" for r in responses) == 49
    assert await count(api_database, "SELECT count(*) FROM orders") == 1
    assert await count(api_database, "SELECT count(*) FROM outbox") == 1
    assert api.metric("ragline_api_orders_created_total") == 1
    assert api.metric("ragline_api_idempotent_replays_total") == 49


async def test_same_key_with_another_body_is_a_422_naming_the_header(
    api: Api, tenants: Tenants, api_database: str
) -> None:
    products = await create_products(api, tenants, "acme")
    headers = key_headers(tenants.headers("acme"), "k-1")
    first = await api.client.post("/v1/orders", json=order_body(products, 1), headers=headers)
    assert first.status_code == 201
    second = await api.client.post("/v1/orders", json=order_body(products, 3), headers=headers)
    assert second.status_code == 422
    assert second.json()["errors"][0]["field"] == "Idempotency-Key"
    assert second.json()["errors"][0]["location"] == "header"
    # Another user reusing the key is refused too, rather than shown someone else's order.
    bob = key_headers(tenants.headers("acme", user="bob"), "k-1")
    third = await api.client.post("/v1/orders", json=order_body(products, 1), headers=bob)
    assert third.status_code == 422
    assert await count(api_database, "SELECT count(*) FROM orders") == 1


async def test_the_key_is_required_and_checked(api: Api, tenants: Tenants) -> None:
    products = await create_products(api, tenants, "acme")
    missing = await api.client.post(
        "/v1/orders", json=order_body(products), headers=tenants.headers("acme")
    )
    assert missing.status_code == 422
    assert missing.json()["errors"][0]["location"] == "header"
    assert missing.json()["errors"][0]["field"] == "Idempotency-Key"


async def test_unknown_unavailable_and_duplicate_products_are_named(
    api: Api, tenants: Tenants
) -> None:
    products = await create_products(api, tenants, "acme")
    headers = tenants.headers("acme")
    await api.client.patch(
        f"/v1/products/{products[1]['id']}", json={"available": False}, headers=headers
    )
    body = {
        "lines": [
            {"product_id": str(uuid.uuid4()), "quantity": 1},
            {"product_id": products[1]["id"], "quantity": 1},
            {"product_id": products[0]["id"], "quantity": 1},
            {"product_id": products[0]["id"], "quantity": 1},
        ]
    }
    response = await api.client.post("/v1/orders", json=body, headers=key_headers(headers))
    assert response.status_code == 422
    errors = {e["field"]: e["type"] for e in response.json()["errors"]}
    assert errors == {
        "lines[0].product_id": "unknown",
        "lines[1].product_id": "unavailable",
        "lines[3].product_id": "duplicate",
    }


async def test_transitions_write_one_event_each_and_invalid_ones_are_refused(
    api: Api, tenants: Tenants, api_database: str
) -> None:
    products = await create_products(api, tenants, "acme")
    staff = tenants.headers("acme")
    created = await api.client.post(
        "/v1/orders", json=order_body(products), headers=key_headers(staff)
    )
    url = f"/v1/orders/{created.json()['id']}"

    confirmed = await api.client.patch(url, json={"status": "confirmed"}, headers=staff)
    assert confirmed.status_code == 200
    assert confirmed.json()["status"] == "confirmed"
    assert confirmed.json()["version"] == 2
    backwards = await api.client.patch(url, json={"status": "created"}, headers=staff)
    assert backwards.status_code == 409
    assert backwards.json()["errors"][0]["field"] == "status"
    cancelled = await api.client.patch(url, json={"status": "cancelled"}, headers=staff)
    assert cancelled.status_code == 200
    after_end = await api.client.patch(url, json={"status": "fulfilled"}, headers=staff)
    assert after_end.status_code == 409
    nonsense = await api.client.patch(url, json={"status": "eaten"}, headers=staff)
    assert nonsense.status_code == 422
    assert nonsense.json()["errors"][0]["field"] == "status"

    conn = await asyncpg.connect(api_database)
    try:
        types = await conn.fetch("SELECT type FROM outbox ORDER BY created_at")
    finally:
        await conn.close()
    assert [row["type"] for row in types] == [
        "order.created.v1",
        "order.confirmed.v1",
        "order.cancelled.v1",
    ]


async def test_customers_cancel_only_their_own_unconfirmed_orders(
    api: Api, tenants: Tenants
) -> None:
    products = await create_products(api, tenants, "acme")
    carol = tenants.headers("acme", user="carol", roles=["customer"])
    dave = tenants.headers("acme", user="dave", roles=["customer"])
    staff = tenants.headers("acme")
    order = (
        await api.client.post("/v1/orders", json=order_body(products), headers=key_headers(carol))
    ).json()
    url = f"/v1/orders/{order['id']}"

    assert (await api.client.get(url, headers=dave)).status_code == 404
    assert (await api.client.get("/v1/orders", headers=dave)).json()["items"] == []
    assert len((await api.client.get("/v1/orders", headers=staff)).json()["items"]) == 1
    assert (
        await api.client.patch(url, json={"status": "cancelled"}, headers=dave)
    ).status_code == 404
    assert (
        await api.client.patch(url, json={"status": "confirmed"}, headers=carol)
    ).status_code == 403
    cancelled = await api.client.patch(url, json={"status": "cancelled"}, headers=carol)
    assert cancelled.status_code == 200
    assert cancelled.json()["status"] == "cancelled"


async def test_concurrent_transitions_apply_exactly_once(
    api: Api, tenants: Tenants, api_database: str
) -> None:
    products = await create_products(api, tenants, "acme")
    staff = tenants.headers("acme")
    order = (
        await api.client.post("/v1/orders", json=order_body(products), headers=key_headers(staff))
    ).json()
    url = f"/v1/orders/{order['id']}"
    results = await asyncio.gather(
        *(api.client.patch(url, json={"status": "confirmed"}, headers=staff) for _ in range(10))
    )
    assert sorted(r.status_code for r in results) == [200] + [409] * 9
    assert (
        await count(
            api_database, "SELECT count(*) FROM outbox WHERE type = $1", "order.confirmed.v1"
        )
        == 1
    )


async def test_listing_orders_filters_by_status_and_paginates(api: Api, tenants: Tenants) -> None:
    products = await create_products(api, tenants, "acme")
    staff = tenants.headers("acme")
    ids = []
    for _ in range(3):
        response = await api.client.post(
            "/v1/orders", json=order_body(products), headers=key_headers(staff)
        )
        ids.append(response.json()["id"])
    await api.client.patch(f"/v1/orders/{ids[1]}", json={"status": "confirmed"}, headers=staff)
    confirmed = await api.client.get("/v1/orders", params={"status": "confirmed"}, headers=staff)
    assert [o["id"] for o in confirmed.json()["items"]] == [ids[1]]
    first = (await api.client.get("/v1/orders", params={"limit": 2}, headers=staff)).json()
    rest = (
        await api.client.get(
            "/v1/orders", params={"limit": 2, "cursor": first["next_cursor"]}, headers=staff
        )
    ).json()
    assert [o["id"] for o in first["items"] + rest["items"]] == ids
    assert rest["next_cursor"] is None
