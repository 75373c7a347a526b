"""The outbox: CloudEvents that match the contracts, NOTIFY at commit, and atomic with the order."""

from __future__ import annotations

import asyncio
import json
import uuid
from pathlib import Path
from typing import Any

import asyncpg
import jsonschema
import pytest

from ragline_common.outbox import NOTIFY_CHANNEL
from tests.integration.api.conftest import Api, Tenants, create_products

pytestmark = pytest.mark.integration

CONTRACTS = Path(__file__).resolve().parents[3] / "contracts" / "events"


def contract(name: str) -> dict[str, Any]:
    schema: dict[str, Any] = json.loads((CONTRACTS / name).read_text())
    return schema


async def place_order(api: Api, tenants: Tenants, products: list[dict[str, Any]], key: str) -> Any:
    return await api.client.post(
        "/v1/orders",
        json={"lines": [{"product_id": products[0]["id"], "quantity": 1}]},
        headers={**tenants.headers("acme"), "Idempotency-Key": key},
    )


async def fetch_outbox(dsn: str) -> list[asyncpg.Record]:
    conn = await asyncpg.connect(dsn)
    try:
        return list(await conn.fetch("SELECT * FROM outbox ORDER BY created_at"))
    finally:
        await conn.close()


async def test_outbox_rows_carry_cloudevents_whose_data_matches_the_contract(
    api: Api, tenants: Tenants, api_database: str
) -> None:
    products = await create_products(api, tenants, "acme")
    order = (await place_order(api, tenants, products, "k")).json()
    await api.client.patch(
        f"/v1/orders/{order['id']}", json={"status": "confirmed"}, headers=tenants.headers("acme")
    )
    rows = await fetch_outbox(api_database)
    assert [row["type"] for row in rows] == ["order.created.v1", "order.confirmed.v1"]
    envelope_schema = contract("cloudevent.v1.json")
    for row in rows:
        event = json.loads(row["payload"])
        jsonschema.validate(event, envelope_schema)
        jsonschema.validate(event["data"], contract(f"{row['type']}.json"))
        assert event["specversion"] == "1.0"
        assert event["id"] == str(row["id"])
        assert event["type"] == row["type"]
        assert event["tenantid"] == row["tenant_id"] == "acme"
        assert event["subject"] == f"order/{order['id']}"
        assert row["aggregatetype"] == "order"
        assert row["aggregateid"] == order["id"]
        assert row["published_at"] is None
        assert row["attempts"] == 0
    created = json.loads(rows[0]["payload"])["data"]
    assert created["total_cents"] == order["total_cents"]
    assert created["lines"][0]["product_id"] == products[0]["id"]


async def test_an_outbox_insert_notifies_listeners_at_commit(
    api: Api, tenants: Tenants, api_database: str
) -> None:
    products = await create_products(api, tenants, "acme")
    listener = await asyncpg.connect(api_database)
    received: asyncio.Queue[str] = asyncio.Queue()
    await listener.add_listener(NOTIFY_CHANNEL, lambda *args: received.put_nowait(args[2]))
    try:
        assert received.empty()
        response = await place_order(api, tenants, products, "notify-me")
        assert response.status_code == 201
        channel = await asyncio.wait_for(received.get(), timeout=5)
        assert channel == NOTIFY_CHANNEL
    finally:
        await listener.close()


FAIL_ON_OUTBOX = """
CREATE FUNCTION fail_outbox() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION 'injected failure after the order insert';
END
$$;
CREATE TRIGGER fail_outbox BEFORE INSERT ON outbox FOR EACH ROW EXECUTE FUNCTION fail_outbox();
"""


async def test_a_failure_between_order_and_outbox_leaves_neither(
    api: Api, tenants: Tenants, api_database: str
) -> None:
    products = await create_products(api, tenants, "acme")
    admin = await asyncpg.connect(api_database)
    try:
        await admin.execute(FAIL_ON_OUTBOX)
        failed = await place_order(api, tenants, products, "retry-me")
        assert failed.status_code == 500
        assert failed.headers["content-type"] == "application/problem+json"
        assert "injected" not in failed.text
        assert "Traceback" not in failed.text
        assert await admin.fetchval("SELECT count(*) FROM orders") == 0
        assert await admin.fetchval("SELECT count(*) FROM outbox") == 0
        # The idempotency key was not burnt: the retry, once the fault is gone, succeeds.
        assert await admin.fetchval("SELECT count(*) FROM idempotency_keys") == 0
        await admin.execute("DROP TRIGGER fail_outbox ON outbox")
        retried = await place_order(api, tenants, products, "retry-me")
        assert retried.status_code == 201
        assert await admin.fetchval("SELECT count(*) FROM orders") == 1
        assert await admin.fetchval("SELECT count(*) FROM outbox") == 1
    finally:
        await admin.close()


async def test_a_failing_status_change_writes_no_event(
    api: Api, tenants: Tenants, api_database: str
) -> None:
    products = await create_products(api, tenants, "acme")
    order = (await place_order(api, tenants, products, str(uuid.uuid4()))).json()
    admin = await asyncpg.connect(api_database)
    try:
        await admin.execute(FAIL_ON_OUTBOX)
        response = await api.client.patch(
            f"/v1/orders/{order['id']}",
            json={"status": "confirmed"},
            headers=tenants.headers("acme"),
        )
        assert response.status_code == 500
        assert await admin.fetchval("SELECT status FROM orders") == "created"
        assert await admin.fetchval("SELECT count(*) FROM outbox") == 1  # only order.created
    finally:
        await admin.close()
