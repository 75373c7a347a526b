"""An event the broker refuses is retried with backoff, then dead-lettered, then replayed."""

from __future__ import annotations

import json
import uuid
from typing import Any

import asyncpg
import httpx
import pytest

from ragline_common.events import OrderStatus
from tests.integration.pipeline.clients import SseClient
from tests.integration.pipeline.conftest import Pipeline
from tests.integration.pipeline.support import (
    Clock,
    Service,
    insert_rows,
    order_changed,
    order_created,
    wait_until,
)
from tests.integration.pipeline.test_dead_letters import PATH, dead_letters

pytestmark = pytest.mark.integration


@pytest.fixture
def backend() -> str:
    """The broker-refusal test below needs Kafka's per-record size limit."""
    return "kafka"


async def test_an_event_the_broker_refuses_is_retried_with_backoff_then_dead_lettered(
    pipeline: Pipeline, db: asyncpg.Connection
) -> None:
    limits = {"kafka_max_request_bytes": 4096, "max_attempts": 3, "retry_base_seconds": 0.3}
    relay = await pipeline.relay(**limits).started()
    notifier = await pipeline.notifier().started()
    admin = pipeline.tenants.headers("acme", roles=["admin"])
    client = await SseClient(
        notifier.url, "/v1/stream/orders", token=pipeline.tenants.token("acme")
    ).open()
    clock = Clock()
    big_id = uuid.uuid4()
    big = order_created("acme", clock, order_id=big_id)
    big["payload"]["data"]["note"] = "x" * 6000
    after_big = order_changed(
        "acme",
        clock,
        order_id=big_id,
        to_status=OrderStatus.CANCELLED,
        from_status=OrderStatus.CREATED,
    )
    others = [order_created("acme", clock) for _ in range(3)]
    try:
        await insert_rows(db, [others[0], big, others[1], after_big, others[2]])
        await client.wait_for(3)
        assert sorted(client.ids) == sorted(str(row["id"]) for row in others)
        # The order's later event waits while its first is retried: per-order order holds.
        await wait_until(lambda: _dead(relay, admin, big), "dead-lettered after 3 attempts")
        (item,) = await dead_letters(relay, admin)
        assert item["attempts"] == 3
        assert "MessageSizeTooLarge" in item["reason"]
        assert await relay.metric("ragline_relay_publish_failures_total", 'kind="event"') == 3
        await client.wait_for(4)
        assert client.ids[3] == str(after_big["id"])

        # The operator raises the limit and replays: the event is published at last.
        relay.stop()
        bigger = await pipeline.relay(kafka_max_request_bytes=1_048_576).started()
        async with httpx.AsyncClient(base_url=bigger.url) as admin_client:
            response = await admin_client.post(f"{PATH}/{big['id']}/replay", headers=admin)
            assert response.status_code == 202
        (replayed,) = (await client.wait_for(5))[4:]
        assert replayed.event_id == str(big["id"])
        assert replayed.data == json.loads(json.dumps(big["payload"]))
        assert await dead_letters(bigger, admin) == []
    finally:
        await client.close()


async def _dead(relay: Service, admin: dict[str, str], row: dict[str, Any]) -> bool:
    return [item["id"] for item in await dead_letters(relay, admin)] == [str(row["id"])]
