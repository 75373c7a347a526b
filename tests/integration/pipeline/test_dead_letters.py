"""Events that cannot be published go to the dead letters; the rest flow on; admins replay them."""

from __future__ import annotations

from typing import Any

import asyncpg
import httpx
import pytest

from tests.integration.pipeline.clients import SseClient
from tests.integration.pipeline.conftest import Pipeline
from tests.integration.pipeline.support import (
    Clock,
    Service,
    insert_rows,
    order_created,
    wait_until,
)

pytestmark = pytest.mark.integration

PATH = "/v1/admin/dead-letters"


def poisoned_tenant(clock: Clock) -> dict[str, Any]:
    """An acme row whose CloudEvent claims to be globex's: shown to nobody, dead-lettered."""
    row = order_created("acme", clock)
    row["payload"] = {**row["payload"], "tenantid": "globex"}
    return row


def poisoned_schema(clock: Clock) -> dict[str, Any]:
    """A row whose order has no lines: fails the order.created.v1 schema."""
    row = order_created("acme", clock)
    row["payload"] = {**row["payload"], "data": {**row["payload"]["data"], "lines": []}}
    return row


async def dead_letters(relay: Service, headers: dict[str, str]) -> list[dict[str, Any]]:
    async with httpx.AsyncClient(base_url=relay.url) as client:
        response = await client.get(PATH, headers=headers)
    assert response.status_code == 200, response.text
    items: list[dict[str, Any]] = response.json()["items"]
    return items


async def test_poison_events_are_dead_lettered_the_rest_flow_on_and_admins_handle_them(
    pipeline: Pipeline, db: asyncpg.Connection
) -> None:
    relay = await pipeline.relay().started()
    notifier = await pipeline.notifier().started()
    tenants = pipeline.tenants
    acme = await SseClient(notifier.url, "/v1/stream/orders", token=tenants.token("acme")).open()
    globex = await SseClient(
        notifier.url, "/v1/stream/orders", token=tenants.token("globex")
    ).open()
    clock = Clock()
    good = [order_created("acme", clock) for _ in range(3)]
    wrong_tenant, bad_schema = poisoned_tenant(clock), poisoned_schema(clock)
    barrier = order_created("globex", clock)
    try:
        await insert_rows(db, [good[0], wrong_tenant, good[1], bad_schema, good[2], barrier])
        await acme.wait_for(3)
        await globex.wait_for(1)
        assert sorted(acme.ids) == sorted(str(row["id"]) for row in good)
        assert globex.ids == [str(barrier["id"])]
    finally:
        await acme.close()
        await globex.close()

    admin = tenants.headers("acme", roles=["admin"])
    # Clients may see the good events before the relay commits the batch that dead-letters.
    await wait_until(
        lambda: _metric_at_least(relay, "ragline_relay_events_dead_lettered_total", 2),
        "both poison events dead-lettered",
    )
    items = {item["id"]: item for item in await dead_letters(relay, admin)}
    assert set(items) == {str(wrong_tenant["id"]), str(bad_schema["id"])}
    assert "tenantid" in items[str(wrong_tenant["id"])]["reason"]
    assert "lines" in items[str(bad_schema["id"])]["reason"]
    assert all(item["attempts"] == 1 for item in items.values())
    assert items[str(bad_schema["id"])]["payload"]["data"]["lines"] == []
    assert await db.fetchval("SELECT count(*) FROM outbox WHERE published_at IS NULL") == 0
    await _check_admin_access(relay, pipeline, str(wrong_tenant["id"]))

    async with httpx.AsyncClient(base_url=relay.url) as client:
        gone = await client.delete(f"{PATH}/{bad_schema['id']}", headers=admin)
        assert gone.status_code == 204
        assert (await client.get(f"{PATH}/{bad_schema['id']}", headers=admin)).status_code == 404
        replayed = await client.post(f"{PATH}/{wrong_tenant['id']}/replay", headers=admin)
        assert replayed.status_code == 202, replayed.text
    # Replayed, it is validated again and, still wrong, comes straight back.
    await wait_until(
        lambda: _metric_at_least(relay, "ragline_relay_events_dead_lettered_total", 3),
        "the replayed event dead-lettered again",
    )
    assert [item["id"] for item in await dead_letters(relay, admin)] == [str(wrong_tenant["id"])]
    await wait_until(
        lambda: _metric_at_least(relay, "ragline_relay_dead_letters", 1, exactly=True),
        "the dead letters gauge",
    )
    assert await relay.metric("ragline_relay_publish_failures_total", 'kind="invalid"') == 3


async def _metric_at_least(
    service: Service, name: str, value: float, *, exactly: bool = False
) -> bool:
    current = await service.metric(name)
    return current == value if exactly else current >= value


async def _check_admin_access(relay: Service, pipeline: Pipeline, event_id: str) -> None:
    tenants = pipeline.tenants
    async with httpx.AsyncClient(base_url=relay.url) as client:
        anonymous = await client.get(PATH)
        assert anonymous.status_code == 401
        assert anonymous.headers["content-type"] == "application/problem+json"
        staff = await client.get(PATH, headers=tenants.headers("acme", roles=["staff"]))
        assert staff.status_code == 403
        other = tenants.headers("globex", roles=["admin"])
        assert (await client.get(PATH, headers=other)).json()["items"] == []
        assert (await client.get(f"{PATH}/{event_id}", headers=other)).status_code == 404
        assert (await client.post(f"{PATH}/{event_id}/replay", headers=other)).status_code == 404
        assert (await client.delete(f"{PATH}/{event_id}", headers=other)).status_code == 404
        suspended = tenants.headers("initech", roles=["admin"])
        assert (await client.get(PATH, headers=suspended)).status_code == 403
