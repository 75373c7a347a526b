"""A Redis that stops answering costs a command at most its deadline, and the API still answers.

The Valkey here is private to the test and is frozen with ``SIGSTOP``: it keeps its socket open
and accepts bytes but never replies, which is how a hung or overloaded server looks to a client
(a dead one refuses the connection instead, which fails fast without any deadline).
"""

from __future__ import annotations

import os
import signal
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from redis.exceptions import TimeoutError as RedisTimeoutError

from ragline_api.app import create_app
from ragline_api.settings import ApiSettings
from ragline_common.redis_client import connect
from ragline_dev.infra import Stack
from ragline_dev.infra.valkey import Valkey
from tests.integration.api.conftest import MENU, Api, Tenants, create_products

pytestmark = pytest.mark.integration

DEADLINE_SECONDS = 0.3
# Far below a hang (the test's own timeout) and far above the deadline on a busy machine.
WELL_WITHIN_SECONDS = 5.0
LOOKUPS = "ragline_api_cache_lookups_total"
CACHE_ERRORS = {"cache": "product", "result": "error"}


@dataclass
class PrivateValkey:
    url: str
    pid: int

    @contextmanager
    def frozen(self) -> Iterator[None]:
        """Stop the server's process for the block: connections stay open, nothing answers."""
        os.kill(self.pid, signal.SIGSTOP)
        try:
            yield
        finally:
            os.kill(self.pid, signal.SIGCONT)


@pytest.fixture
def valkey(tmp_path: Path) -> Iterator[PrivateValkey]:
    stack = Stack(root=tmp_path / "valkey", parts=[Valkey(durable=False)])
    state = stack.up()["valkey"]
    try:
        yield PrivateValkey(url=state.endpoints["url"], pid=state.pids[0])
    finally:
        stack.close()


async def test_a_command_gives_up_at_its_deadline_and_the_client_recovers(
    valkey: PrivateValkey,
) -> None:
    client = connect(valkey.url, command_timeout_seconds=DEADLINE_SECONDS)
    try:
        await client.set("greeting", b"hello")
        with valkey.frozen():
            started = time.monotonic()
            with pytest.raises(RedisTimeoutError, match=r"GET within 0\.3 s"):
                await client.get("greeting")
            waited = time.monotonic() - started
        assert DEADLINE_SECONDS <= waited < WELL_WITHIN_SECONDS
        # The connection whose reply never came was dropped; the next command gets a clean one.
        assert await client.get("greeting") == b"hello"
    finally:
        await client.aclose()


@pytest.fixture
async def api_on_private_valkey(
    api_settings: ApiSettings, valkey: PrivateValkey
) -> AsyncIterator[Api]:
    settings = api_settings.model_copy(
        update={"redis_url": valkey.url, "redis_timeout_seconds": DEADLINE_SECONDS}
    )
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
        async with httpx.AsyncClient(transport=transport, base_url="http://api") as client:
            yield Api(app=app, client=client)


async def test_a_hung_cache_still_serves_products_from_the_database(
    api_on_private_valkey: Api, tenants: Tenants, valkey: PrivateValkey
) -> None:
    api = api_on_private_valkey
    product = (await create_products(api, tenants, "acme", MENU[:1]))[0]
    path = f"/v1/products/{product['id']}"
    assert (await api.client.get(path, headers=tenants.headers("acme"))).status_code == 200
    errors = api.metric(LOOKUPS, CACHE_ERRORS)

    with valkey.frozen():
        started = time.monotonic()
        response = await api.client.get(path, headers=tenants.headers("acme"))
        waited = time.monotonic() - started

    assert response.status_code == 200
    assert response.json()["name"] == MENU[0]["name"]
    assert waited < WELL_WITHIN_SECONDS
    assert api.metric(LOOKUPS, CACHE_ERRORS) == errors + 1
