"""A broker restart heals by itself: the relay and notifier reconnect, nothing is lost or doubled.

The broker here is private to the test (its own stack directory), so stopping it disturbs no other
test; it is durable (Valkey with its append-only file, Kafka's log), as a production broker is,
and comes back on the same port.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterator
from pathlib import Path

import asyncpg
import httpx
import pytest

from ragline_dev.infra import Part, PartState, Stack
from ragline_dev.infra.kafka import Kafka
from ragline_dev.infra.valkey import Valkey
from tests.integration.pipeline.clients import SseClient, WsClient
from tests.integration.pipeline.conftest import Broker, Pipeline, create_topic
from tests.integration.pipeline.support import (
    Clock,
    Service,
    insert_rows,
    order_created,
    wait_until,
)

pytestmark = pytest.mark.integration


class PrivateBroker:
    """One broker in its own stack directory, stopped and started at will."""

    def __init__(self, root: Path, part: Part) -> None:
        self.root = root
        self.part = part
        self.stack = Stack(root=root, parts=[part])
        self.state: PartState = self.stack.up()[part.name]

    def stop(self) -> None:
        self.state.stop()

    def start(self) -> None:
        self.stack.close()
        # The state on disk remembers the ports: the broker comes back where clients expect it.
        self.stack = Stack(root=self.root, parts=[self.part])
        self.state = self.stack.up()[self.part.name]

    def close(self) -> None:
        self.stack.close()


@pytest.fixture
def private(backend: str, tmp_path: Path) -> Iterator[PrivateBroker]:
    part: Part = Valkey(durable=True) if backend == "redis" else Kafka()
    broker = PrivateBroker(tmp_path / "stack", part)
    try:
        yield broker
    finally:
        broker.close()


@pytest.fixture
async def broker(backend: str, private: PrivateBroker) -> Broker:
    """Overrides the shared broker: this test's stream lives on its private server."""
    name = f"t-{uuid.uuid4().hex[:12]}"
    if backend == "redis":
        return Broker(backend, stream=name, redis_url=private.state.endpoints["url"])
    bootstrap = private.state.endpoints["bootstrap"]
    await create_topic(bootstrap, name)
    return Broker(backend, stream=name, bootstrap=bootstrap)


async def test_a_broker_restart_recovers_without_a_hand_on_it(
    pipeline: Pipeline, private: PrivateBroker, db: asyncpg.Connection
) -> None:
    relay = await pipeline.relay().started()
    notifier = await pipeline.notifier().started()
    token = pipeline.tenants.token("acme")
    sse = await SseClient(notifier.url, "/v1/stream/orders", token=token).open()
    ws = await WsClient(notifier.url, token=token).open()
    clock = Clock()
    before = [order_created("acme", clock) for _ in range(10)]
    during = [order_created("acme", clock) for _ in range(10)]
    after = [order_created("acme", clock) for _ in range(10)]
    try:
        await insert_rows(db, before)
        await sse.wait_for(10)
        await ws.wait_for(10)

        await asyncio.to_thread(private.stop)
        await insert_rows(db, during)
        await wait_until(lambda: _failed_batches(relay), "the relay noticed the broker was gone")
        await asyncio.to_thread(private.start)
        await insert_rows(db, after)

        await sse.wait_for(30, seconds=90)
        await ws.wait_for(30, seconds=30)
        expected = sorted(str(row["id"]) for row in [*before, *during, *after])
        for client in (sse, ws):
            assert len(client.ids) == len(set(client.ids)), "an event shown twice"
            assert sorted(client.ids) == expected
        assert not sse.ended
        assert not ws.ended
        # Nobody restarted the services.
        for service in (relay, notifier):
            assert service.proc is not None
            assert service.proc.poll() is None
        await wait_until(lambda: _ready(notifier.url), "the notifier ready again")
    finally:
        await sse.close()
        await ws.close()


async def _failed_batches(relay: Service) -> bool:
    return await relay.metric("ragline_relay_publish_failures_total", 'kind="batch"') > 0


async def _ready(url: str) -> bool:
    async with httpx.AsyncClient(base_url=url) as client:
        return (await client.get("/readyz")).status_code == 200
