"""The notifier's promises to clients that do not depend on the broker (run on Valkey)."""

from __future__ import annotations

import asyncio
import socket
import time
import uuid
from typing import Any

import asyncpg
import httpx
import pytest

from ragline_common.events import OrderStatus
from ragline_common.registry import TenantState
from tests.integration.pipeline.clients import SseClient, WsClient
from tests.integration.pipeline.conftest import Pipeline
from tests.integration.pipeline.support import (
    Clock,
    Service,
    insert_rows,
    order_changed,
    order_created,
    wait_until,
)

pytestmark = pytest.mark.integration


@pytest.fixture
def backend() -> str:
    """Routing, limits and slow clients are the notifier's own: one broker is enough."""
    return "redis"


async def _metric(service: Service, name: str, labels: str = "") -> float:
    return await service.metric(name, labels)


async def open_stalled_client(notifier: Service, token: str) -> tuple[socket.socket, float]:
    """An SSE client that connects and then reads nothing, with a tiny receive buffer."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    sock.setblocking(False)
    loop = asyncio.get_running_loop()
    await loop.sock_connect(sock, ("127.0.0.1", notifier.port))
    request = (
        "GET /v1/stream/orders HTTP/1.1\r\nHost: 127.0.0.1\r\n"
        f"Authorization: Bearer {token}\r\nAccept: text/event-stream\r\n\r\n"
    )
    await loop.sock_sendall(sock, request.encode())
    return sock, time.monotonic()


async def read_until(sock: socket.socket, marker: bytes, seconds: float = 30.0) -> bytes:
    """Read what the server sent until ``marker`` appears (bounded)."""
    loop = asyncio.get_running_loop()
    received = bytearray()
    async with asyncio.timeout(seconds):
        while marker not in received:
            chunk = await loop.sock_recv(sock, 65536)
            if not chunk:
                break
            received += chunk
    return bytes(received)


async def test_a_slow_client_is_dropped_with_a_reason_and_never_slows_the_others(
    pipeline: Pipeline, db: asyncpg.Connection
) -> None:
    await pipeline.relay().started()
    notifier = await pipeline.notifier(client_buffer_events=100, fetch_count=20).started()
    token = pipeline.tenants.token("acme")
    stalled, _ = await open_stalled_client(notifier, token)
    fast = await SseClient(notifier.url, "/v1/stream/orders", token=token).open()
    clock = Clock()
    rows = [order_created("acme", clock) for _ in range(2500)]
    for row in rows:  # 3 KB each: the stalled socket's buffers fill after about a thousand
        row["payload"]["data"]["note"] = "n" * 3000
    try:
        for start in range(0, len(rows), 250):
            await insert_rows(db, rows[start : start + 250])
        await fast.wait_for(len(rows), seconds=60)
        assert sorted(fast.ids) == sorted(str(row["id"]) for row in rows)
        assert await _metric(notifier, "ragline_notifier_connections_closed_total", 'reason="slow"')
        assert await _metric(notifier, "ragline_notifier_connections", 'transport="SSE"') == 1
        # Reading at last, the stalled client gets what fit in the pipes, then the reason.
        raw = await read_until(stalled, b"slow consumer")
        assert b"event: close" in raw
        assert b"slow consumer: more than 100 events waiting" in raw
        assert raw.count(b"event: order.created.v1\n") < len(rows)
    finally:
        stalled.close()
        await fast.close()


async def test_each_tenant_is_held_to_its_connection_limit(pipeline: Pipeline) -> None:
    pipeline.tenants.add("tiny", max_connections=2)
    notifier = await pipeline.notifier().started()
    token = pipeline.tenants.token("tiny")
    first = await SseClient(notifier.url, "/v1/stream/orders", token=token).open()
    second = await WsClient(notifier.url, token=token).open()
    third = await SseClient(notifier.url, "/v1/stream/orders", token=token).open()
    fourth = await WsClient(notifier.url, token=token).open()
    others = await SseClient(
        notifier.url, "/v1/stream/orders", token=pipeline.tenants.token("acme")
    ).open()
    try:
        assert first.status == 200
        assert others.status == 200
        assert third.status == 429
        problem = httpx.Response(429, content=third.body).json()
        assert problem["type"].endswith("/connection-limit")
        await fourth.wait_closed()
        assert fourth.close_code == 4029
        await first.close()
        await wait_until(
            lambda: _is(_metric(notifier, "ragline_notifier_connections", 'transport="SSE"'), 1),
            "the closed connection's slot freed",
        )
        again = await SseClient(notifier.url, "/v1/stream/orders", token=token).open()
        assert again.status == 200
        await again.close()
    finally:
        for client in (first, third, others):
            await client.close()
        for ws in (second, fourth):
            await ws.close()


async def _is(value: Any, expected: float) -> bool:
    return bool(await value == expected)


async def test_a_suspended_tenant_is_refused_and_its_open_streams_end(
    pipeline: Pipeline,
) -> None:
    notifier = await pipeline.notifier().started()
    tenants = pipeline.tenants
    refused = await SseClient(
        notifier.url, "/v1/stream/orders", token=tenants.token("initech")
    ).open()
    refused_ws = await WsClient(notifier.url, token=tenants.token("initech")).open()
    sse = await SseClient(notifier.url, "/v1/stream/orders", token=tenants.token("acme")).open()
    ws = await WsClient(notifier.url, token=tenants.token("acme")).open()
    try:
        assert ws.ready_at is not None
        assert refused.status == 403
        await refused_ws.wait_closed()
        assert refused_ws.close_code == 4003
        tenants.set_state("acme", TenantState.SUSPENDED)
        await wait_until(lambda: sse.ended, "the suspended tenant's stream ended")
        await ws.wait_closed()
        assert [notice.data["reason"] for notice in sse.notices] == ["tenant suspended"]
        assert ws.close_code == 4003
        assert ws.close_reason == "tenant suspended"
    finally:
        for client in (refused, sse):
            await client.close()
        for socket_client in (refused_ws, ws):
            await socket_client.close()


async def test_an_expired_token_ends_the_stream(pipeline: Pipeline) -> None:
    notifier = await pipeline.notifier().started()
    token = pipeline.tenants.token("acme", ttl_seconds=2)
    sse = await SseClient(notifier.url, "/v1/stream/orders", token=token).open()
    try:
        await wait_until(lambda: sse.ended, "the stream ended", seconds=15)
        assert [notice.data["reason"] for notice in sse.notices] == ["token expired"]
    finally:
        await sse.close()


async def test_filters_and_customers_see_only_what_is_theirs(
    pipeline: Pipeline, db: asyncpg.Connection
) -> None:
    await pipeline.relay().started()
    notifier = await pipeline.notifier().started()
    tenants = pipeline.tenants
    clock = Clock()
    order_a, order_b = uuid.uuid4(), uuid.uuid4()
    url, orders = notifier.url, "/v1/stream/orders"
    staff = await SseClient(url, "/v1/stream/notifications", token=tenants.token("acme")).open()
    alice = await SseClient(
        url, orders, token=tenants.token("acme", user="alice", roles=["customer"])
    ).open()
    confirmed = await SseClient(
        url, orders, token=tenants.token("acme"), params={"type": "order.confirmed"}
    ).open()
    only_a = await WsClient(
        url, token=tenants.token("acme"), params={"channel": "orders", "order_id": str(order_a)}
    ).open()

    def confirm(order_id: uuid.UUID, user: str) -> dict[str, Any]:
        return order_changed(
            "acme",
            clock,
            order_id=order_id,
            to_status=OrderStatus.CONFIRMED,
            from_status=OrderStatus.CREATED,
            user=user,
        )

    rows = [
        order_created("acme", clock, order_id=order_a, user="alice"),
        order_created("acme", clock, order_id=order_b, user="bob"),
        confirm(order_a, "alice"),
        confirm(order_b, "bob"),
        confirm(order_a, "alice"),  # for everyone: the barrier
    ]
    ids = [str(row["id"]) for row in rows]
    try:
        await insert_rows(db, rows[:4])
        await insert_rows(db, rows[4:])
        for client, count in ((staff, 5), (alice, 3), (confirmed, 3), (only_a, 3)):
            await client.wait_for(count)
        # Every delivery was counted when queued: nothing else is on its way to anyone.
        assert await _metric(notifier, "ragline_notifier_deliveries_total") == 5 + 3 + 3 + 3
        assert sorted(staff.ids) == sorted(ids)
        assert sorted(alice.ids) == sorted([ids[0], ids[2], ids[4]])
        assert sorted(confirmed.ids) == sorted([ids[2], ids[3], ids[4]])
        assert sorted(only_a.ids) == sorted([ids[0], ids[2], ids[4]])
    finally:
        for client in (staff, alice, confirmed):
            await client.close()
        await only_a.close()


async def test_heartbeats_move_an_idle_clients_position_past_others_traffic(
    pipeline: Pipeline, db: asyncpg.Connection
) -> None:
    await pipeline.relay().started()
    notifier = await pipeline.notifier(heartbeat_seconds=0.5).started()
    tenants = pipeline.tenants
    idle = await SseClient(notifier.url, "/v1/stream/orders", token=tenants.token("acme")).open()
    busy = await SseClient(notifier.url, "/v1/stream/orders", token=tenants.token("globex")).open()
    ws = await WsClient(notifier.url, token=tenants.token("acme")).open()
    clock = Clock()
    try:
        await insert_rows(db, [order_created("globex", clock) for _ in range(3)])
        await busy.wait_for(3)
        position = busy.events[-1].position
        await wait_until(lambda: idle.last_id == position, "the idle client's position advanced")
        await wait_until(lambda: position in ws.heartbeats, "a WebSocket heartbeat")
        assert idle.events == []
        assert ws.events == []
    finally:
        for client in (idle, busy):
            await client.close()
        await ws.close()
    resumed = await SseClient(
        notifier.url, "/v1/stream/orders", token=tenants.token("acme"), last_event_id=position
    ).open()
    try:
        mine = order_created("acme", clock)
        await insert_rows(db, [mine])
        await resumed.wait_for(1)
        assert resumed.ids == [str(mine["id"])]
    finally:
        await resumed.close()


async def test_probes_and_metrics_tell_the_truth(
    pipeline: Pipeline, db: asyncpg.Connection
) -> None:
    clock = Clock()
    rows = [order_created("acme", clock) for _ in range(7)]
    await insert_rows(db, rows)
    # A relay whose broker is unreachable: alive, not ready, rows pending and ageing.
    blind = pipeline.relay(redis_url="redis://127.0.0.1:1/0")
    blind.start()
    async with httpx.AsyncClient(base_url=blind.url, timeout=5.0) as client:
        await wait_until(lambda: _answers(client, "/healthz"), "the blind relay alive")
        readyz = await client.get("/readyz")
        assert readyz.status_code == 503
        assert readyz.json()["checks"] == {"database": "ok", "broker": "failing", "loops": "ok"}
    await wait_until(
        lambda: _is(_metric(blind, "ragline_relay_outbox_pending_rows"), 7), "pending rows"
    )
    assert await _metric(blind, "ragline_relay_outbox_oldest_pending_age_seconds") > 0
    assert await _metric(blind, "ragline_relay_publish_failures_total", 'kind="batch"') > 0
    blind.stop()

    relay = await pipeline.relay().started()
    notifier = await pipeline.notifier().started()
    await wait_until(
        lambda: _is(_metric(relay, "ragline_relay_events_published_total"), 7), "published"
    )
    await wait_until(
        lambda: _is(_metric(relay, "ragline_relay_outbox_pending_rows"), 0), "none pending"
    )
    assert await _metric(relay, "ragline_relay_outbox_oldest_pending_age_seconds") == 0
    assert await _metric(relay, "ragline_relay_dead_letters") == 0
    async with httpx.AsyncClient(base_url=notifier.url, timeout=5.0) as client:
        assert (await client.get("/healthz")).json() == {"status": "ok"}
        ready = (await client.get("/readyz")).json()
        assert ready == {"status": "ready", "checks": {"stream": "ok", "registry": "ok"}}
        metrics = (await client.get("/metrics")).text
    for family in ("connections", "events_received_total", "deliveries_total"):
        assert f"ragline_notifier_{family}" in metrics


async def _answers(client: httpx.AsyncClient, path: str) -> bool:
    try:
        return (await client.get(path)).status_code == 200
    except httpx.HTTPError:
        return False


async def test_sse_takes_the_token_from_the_query_unless_a_header_is_sent(
    pipeline: Pipeline,
) -> None:
    notifier = await pipeline.notifier().started()
    token = pipeline.tenants.token("acme")
    query = {"access_token": token}
    async with httpx.AsyncClient(base_url=notifier.url, timeout=10.0) as client:
        async with client.stream("GET", "/v1/stream/orders", params=query) as response:
            assert response.status_code == 200
            assert response.headers["content-type"].startswith("text/event-stream")
        # A header that is there but not a bearer token is refused, not skipped for the query.
        for headers, params in (({"Authorization": f"Basic {token}"}, query), ({}, {})):
            refused = await client.get("/v1/stream/orders", headers=headers, params=params)
            assert refused.status_code == 401
            assert refused.headers["content-type"] == "application/problem+json"
