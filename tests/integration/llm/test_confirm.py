"""``confirm`` against the real API over HTTP: a retried confirm places exactly one order."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import pytest
from starlette.types import Message, Receive, Scope, Send

from ragline_api import migrations as api_migrations
from ragline_api.app import create_app as create_api_app
from ragline_api.settings import ApiSettings
from ragline_llm.demo import demo_bundle
from ragline_llm.ingest import link_products
from ragline_llm.rag.documents import KnowledgeBundle
from tests.integration.llm.conftest import SettingsFactory, Tenants, Upstream, start_llm
from tests.integration.llm.fake_openai import calls, reply
from tests.integration.llm.knowledge import ingest
from tests.integration.llm.servers import serve

pytestmark = pytest.mark.integration


class LoseOrderResponses:
    """In front of the API: the first ``lose`` order requests are fully processed, but their
    answer is replaced by a 502, as a proxy that lost the connection would send."""

    def __init__(self, app: Any, *, lose: int) -> None:
        self.app = app
        self.lose = lose
        self.order_posts = 0

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or (scope["method"], scope["path"]) != ("POST", "/v1/orders"):
            await self.app(scope, receive, send)
            return
        self.order_posts += 1
        if self.order_posts > self.lose:
            await self.app(scope, receive, send)
            return

        async def swallow(message: Message) -> None:
            return None

        await self.app(scope, receive, swallow)
        await send({"type": "http.response.start", "status": 502, "headers": []})
        await send({"type": "http.response.body", "body": b"lost"})


@dataclass
class Api:
    url: str
    proxy: LoseOrderResponses


@pytest.fixture
async def api(fresh_database: str, redis_url: str, tenants: Tenants) -> AsyncIterator[Api]:
    await asyncio.to_thread(api_migrations.upgrade, fresh_database)
    settings = ApiSettings(
        database_url=fresh_database,
        redis_url=redis_url,
        registry_path=tenants.registry_path,
        keys_dir=tenants.keys_dir,
        registry_reload_seconds=0,
        access_log=False,
        log_json=False,
    )
    proxy = LoseOrderResponses(create_api_app(settings), lose=1)
    async with serve(proxy) as url:
        yield Api(url=url, proxy=proxy)


CART = [{"sku": "diavola", "quantity": 2}, {"sku": "tiramisu", "quantity": 1}]


async def test_a_retried_confirm_places_exactly_one_order(
    api: Api, llm_settings: SettingsFactory, tenants: Tenants, upstream: Upstream
) -> None:
    staff = tenants.token("acme", user="boss", roles=["staff"])
    bundle = KnowledgeBundle.model_validate(demo_bundle("acme"))
    linked = await asyncio.to_thread(link_products, bundle, api_url=api.url, token=staff)
    async with start_llm(llm_settings(api_url=api.url)) as llm:
        await ingest(llm, tenants, "acme", linked.model_dump(mode="json", exclude={"tenant"}))
        chat = {
            "messages": [{"role": "user", "content": "Yes, order it."}],
            "conversation_id": "conv-1",
        }
        upstream.fake.script(calls(("confirm", {"items": CART})), reply("Ordered!"))
        first = await llm.client.post("/v1/chat", json=chat, headers=tenants.headers("acme"))
        assert first.status_code == 200, first.text
        [call] = first.json()["tool_calls"]
        assert call["status"] == "ok", call
        # The API placed the order, its answer was lost, and the retry with the same key got
        # the stored answer back.
        assert api.proxy.order_posts == 2
        assert call["result"]["replayed"] is True
        assert call["result"]["total_cents"] == 2 * 1150 + 600
        order_id = call["result"]["order_id"]
        # The client retries the whole chat; the model confirms again (listing the cart in
        # another order): the same order comes back.
        upstream.fake.script(calls(("confirm", {"items": list(reversed(CART))})), reply("Done."))
        again = await llm.client.post("/v1/chat", json=chat, headers=tenants.headers("acme"))
        assert again.json()["tool_calls"][0]["result"]["order_id"] == order_id
        async with llm.client.__class__(base_url=api.url) as client:
            orders = (await client.get("/v1/orders", headers=tenants.headers("acme"))).json()[
                "items"
            ]
        assert [order["id"] for order in orders] == [order_id]
        assert sorted((line["sku"], line["quantity"]) for line in orders[0]["lines"]) == [
            ("diavola", 2),
            ("tiramisu", 1),
        ]
        # Another conversation is another order.
        upstream.fake.script(calls(("confirm", {"items": CART})), reply("Ordered again."))
        other = await llm.client.post(
            "/v1/chat", json={**chat, "conversation_id": "conv-2"}, headers=tenants.headers("acme")
        )
        assert other.json()["tool_calls"][0]["result"]["order_id"] != order_id


async def test_an_item_without_a_product_cannot_be_ordered(
    api: Api, llm_settings: SettingsFactory, tenants: Tenants, upstream: Upstream
) -> None:
    async with start_llm(llm_settings(api_url=api.url)) as llm:
        bundle = demo_bundle("acme")
        bundle.pop("tenant")
        await ingest(llm, tenants, "acme", bundle)  # no product ids
        upstream.fake.script(calls(("confirm", {"items": CART})), reply("Sorry."))
        response = await llm.client.post(
            "/v1/chat",
            json={"messages": [{"role": "user", "content": "order"}]},
            headers=tenants.headers("acme"),
        )
        [call] = response.json()["tool_calls"]
        assert call["status"] == "error"
        assert "cannot be ordered" in call["result"]["error"]
        assert api.proxy.order_posts == 0
