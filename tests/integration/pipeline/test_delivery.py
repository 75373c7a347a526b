"""Orders reach the right clients, once, and a reconnecting client gets exactly what it missed."""

from __future__ import annotations

import json
from typing import Any

import asyncpg
import pytest
from aiokafka import AIOKafkaProducer
from redis.asyncio import Redis

from tests.integration.pipeline.clients import SseClient, WsClient
from tests.integration.pipeline.conftest import Broker, Pipeline
from tests.integration.pipeline.support import (
    Clock,
    insert_rows,
    order_created,
    wait_until,
)

pytestmark = pytest.mark.integration


def as_json(row: dict[str, Any]) -> Any:
    """The CloudEvent of an outbox row as a client parses it."""
    return json.loads(json.dumps(row["payload"]))


def assert_exactly(received: list[str], expected: list[str]) -> None:
    """The same events, each once. Events of different orders may be in any order: only each
    order's own events are ordered (Kafka partitions, concurrent relay batches)."""
    assert len(received) == len(set(received)), "a client saw an event twice"
    assert sorted(received) == sorted(expected)


async def all_published(db: asyncpg.Connection) -> bool:
    pending = await db.fetchval("SELECT count(*) FROM outbox WHERE published_at IS NULL")
    return bool(pending == 0)


async def test_an_order_reaches_its_tenants_sse_and_websocket_clients_and_no_other(
    pipeline: Pipeline, db: asyncpg.Connection
) -> None:
    await pipeline.relay().started()
    notifier = await pipeline.notifier().started()
    tenants = pipeline.tenants
    acme_sse = await SseClient(
        notifier.url, "/v1/stream/orders", token=tenants.token("acme")
    ).open()
    acme_ws = await WsClient(notifier.url, token=tenants.token("acme")).open()
    globex_sse = await SseClient(
        notifier.url, "/v1/stream/notifications", token=tenants.token("globex")
    ).open()
    globex_ws = await WsClient(
        notifier.url, token=tenants.token("globex"), params={"channel": "orders"}
    ).open()
    clock = Clock()
    try:
        first = order_created("acme", clock)
        await insert_rows(db, [first])
        (sse_event,) = await acme_sse.wait_for(1)
        (ws_event,) = await acme_ws.wait_for(1)
        assert sse_event.data == as_json(first)
        assert ws_event.data == as_json(first)
        assert sse_event.kind == "order.created.v1"
        assert sse_event.data["tenantid"] == "acme"
        assert sse_event.position == ws_event.position

        # Each tenant's next event is a barrier: once it arrived, anything misrouted before it
        # would have arrived too.
        theirs = order_created("globex", clock)
        second = order_created("acme", clock)
        await insert_rows(db, [theirs, second])
        await globex_sse.wait_for(1)
        await globex_ws.wait_for(1)
        await acme_sse.wait_for(2)
        await acme_ws.wait_for(2)
        assert globex_sse.ids == globex_ws.ids == [str(theirs["id"])]
        assert acme_sse.ids == acme_ws.ids == [str(first["id"]), str(second["id"])]
    finally:
        for client in (acme_sse, acme_ws, globex_sse, globex_ws):
            await client.close()


async def test_reconnecting_with_last_event_id_gets_exactly_the_missed_events(
    pipeline: Pipeline, db: asyncpg.Connection
) -> None:
    await pipeline.relay().started()
    notifier = await pipeline.notifier().started()
    token = pipeline.tenants.token("acme")
    clock = Clock()
    seen = [order_created("acme", clock) for _ in range(3)]
    missed = [order_created("acme", clock) for _ in range(5)]
    others = [order_created("globex", clock) for _ in range(3)]

    client = await SseClient(notifier.url, "/v1/stream/orders", token=token).open()
    ws = await WsClient(notifier.url, token=token).open()
    try:
        await insert_rows(db, seen)
        await client.wait_for(3)
        await ws.wait_for(3)
    finally:
        await client.close()
        await ws.close()
    last_sse = client.events[-1].position
    last_ws = ws.events[-1].position
    assert last_sse is not None
    assert last_ws is not None

    await insert_rows(db, [missed[0], others[0], missed[1], missed[2], others[1]])
    await insert_rows(db, [missed[3], others[2], missed[4]])
    await wait_until(lambda: all_published(db), "all rows published")
    # The notifier has read them all, so the resumed clients get them by replay, not live.
    await wait_until(
        lambda: _at_least(notifier.metric("ragline_notifier_events_received_total"), 11),
        "notifier read every entry",
    )

    resumed = await SseClient(
        notifier.url, "/v1/stream/orders", token=token, last_event_id=last_sse
    ).open()
    resumed_ws = await WsClient(notifier.url, token=token, params={"resume": last_ws}).open()
    try:
        await resumed.wait_for(5)
        await resumed_ws.wait_for(5)
        live = order_created("acme", clock)
        await insert_rows(db, [live])
        await resumed.wait_for(6)
        await resumed_ws.wait_for(6)
        expected = [str(row["id"]) for row in missed]
        assert_exactly(resumed.ids[:5], expected)
        assert_exactly(resumed_ws.ids[:5], expected)
        assert resumed.ids[5] == resumed_ws.ids[5] == str(live["id"])
        assert await notifier.metric("ragline_notifier_events_replayed_total") >= 10
    finally:
        await resumed.close()
        await resumed_ws.close()


async def _at_least(value: Any, floor: float) -> bool:
    return bool(await value >= floor)


async def publish_copy(broker: Broker, row: dict[str, Any]) -> None:
    """Append an event to the stream the way a relay does (a republished copy)."""
    data = json.dumps(row["payload"]).encode()
    fields: dict[str, str] = {
        "id": str(row["id"]),
        "tenant": row["tenant_id"],
        "type": row["type"],
        "key": row["aggregateid"],
        "user": "alice",
    }
    if broker.backend == "redis":
        client = Redis.from_url(broker.redis_url)
        try:
            entry: dict[str | bytes, str | bytes] = {"data": data}
            entry.update(fields)
            await client.xadd(broker.stream, entry)  # type: ignore[arg-type]
        finally:
            await client.aclose()
        return
    producer = AIOKafkaProducer(bootstrap_servers=broker.bootstrap, acks="all")
    await producer.start()
    try:
        headers = [(k, v.encode()) for k, v in fields.items() if k != "key"]
        await producer.send_and_wait(
            broker.stream, data, key=row["aggregateid"].encode(), headers=headers
        )
    finally:
        await producer.stop()


async def test_copies_of_an_event_are_shown_once_live_and_on_replay(
    pipeline: Pipeline, broker: Broker
) -> None:
    notifier = await pipeline.notifier().started()
    token = pipeline.tenants.token("acme")
    clock = Clock()
    before = order_created("acme", clock)
    duplicated = order_created("acme", clock)
    after = order_created("acme", clock)
    client = await SseClient(notifier.url, "/v1/stream/orders", token=token).open()
    try:
        await publish_copy(broker, before)
        await client.wait_for(1)
        resume_from = client.events[0].position
        for row in (duplicated, duplicated, duplicated, after):
            await publish_copy(broker, row)
        await client.wait_for(3)
        await wait_until(
            lambda: _at_least(notifier.metric("ragline_notifier_events_duplicate_total"), 2),
            "both copies dropped",
        )
        assert_exactly(client.ids, [str(before["id"]), str(duplicated["id"]), str(after["id"])])
    finally:
        await client.close()

    replayed = await SseClient(
        notifier.url, "/v1/stream/orders", token=token, last_event_id=resume_from
    ).open()
    try:
        await replayed.wait_for(2)
        last = order_created("acme", clock)
        await publish_copy(broker, last)
        await replayed.wait_for(3)
        assert_exactly(replayed.ids, [str(duplicated["id"]), str(after["id"]), str(last["id"])])
    finally:
        await replayed.close()
