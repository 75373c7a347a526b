"""Retrieval over real pgvector: the right item for each query, filters, re-ranking, tenants."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from ragline_common.db import tenant_session
from ragline_llm.tools.menu import retrieve_menu
from ragline_llm.tools.specs import RetrieveMenuArgs
from tests.integration.llm.conftest import Llm, Tenants, Upstream
from tests.integration.llm.fake_openai import reply
from tests.integration.llm.knowledge import ingest, ingest_demo

pytestmark = pytest.mark.integration

# Queries a customer might type, and the item they mean. The local embedder is lexical: each
# query shares words or word fragments with its item (see the README of ragline_llm).
QUERIES = [
    ("a spicy pizza with salami", "diavola"),
    ("pizza with chili", "diavola"),
    ("margherita please", "margherita"),
    ("basil and tomato pizza", "margherita"),
    ("four cheese pizza", "quattro-formaggi"),
    ("gorgonzola", "quattro-formaggi"),
    ("vegan salad", "garden-bowl"),
    ("healthy bowl with quinoa and avocado", "garden-bowl"),
    ("tiramisu", "tiramisu"),
    ("a dessert with mascarpone", "tiramisu"),
    ("a cold drink", "lemonade"),
    ("fresh lemonade with mint", "lemonade"),
]
NOW = datetime(2026, 11, 23, 12, tzinfo=UTC)


async def _menu(llm: Llm, tenant: str, **args: Any) -> list[dict[str, Any]]:
    state = llm.state
    role = state.settings.db_role or None
    async with tenant_session(state.engine, tenant_id=tenant, role=role) as session:
        found = await retrieve_menu(
            state.store,
            session,
            RetrieveMenuArgs(**args),
            now=NOW,
            min_score=state.settings.retrieval_min_score,
        )
    items: list[dict[str, Any]] = found["items"]
    return items


async def test_each_query_finds_its_menu_item_first(llm: Llm, tenants: Tenants) -> None:
    await ingest_demo(llm, tenants, "acme")
    misses = []
    for query, sku in QUERIES:
        items = await _menu(llm, "acme", query=query, limit=3)
        if not items or items[0]["sku"] != sku:
            misses.append((query, sku, [item["sku"] for item in items]))
    assert not misses


async def test_metadata_filters_hold(llm: Llm, tenants: Tenants) -> None:
    await ingest_demo(llm, tenants, "acme")
    unfiltered = {item["sku"] for item in await _menu(llm, "acme", query="pizza", limit=10)}
    assert "diavola" in unfiltered
    veggie = await _menu(llm, "acme", query="pizza", dietary=["vegetarian"], limit=10)
    assert veggie
    assert all("vegetarian" in item["dietary"] for item in veggie)
    assert "diavola" not in {item["sku"] for item in veggie}
    cheap = await _menu(llm, "acme", query="pizza", max_price_cents=1000, limit=10)
    assert cheap
    assert all(item["price_cents"] <= 1000 for item in cheap)
    desserts = await _menu(llm, "acme", query="something", category="dessert", limit=10)
    assert [item["sku"] for item in desserts] in ([], ["tiramisu"])


async def test_business_reranking_sinks_sold_out_items_and_marks_promotions(
    llm: Llm, tenants: Tenants
) -> None:
    await ingest_demo(llm, tenants, "acme")
    await ingest(
        llm,
        tenants,
        "acme",
        {
            "documents": [
                {
                    "id": "menu-diavola",
                    "kind": "menu",
                    "title": "Pizza Diavola",
                    "body": "Hot and spicy pizza with spicy salami and chili.",
                    "metadata": {
                        "sku": "diavola",
                        "price_cents": 1150,
                        "category": "pizza",
                        "available": False,
                    },
                }
            ]
        },
    )
    items = await _menu(llm, "acme", query="spicy salami pizza", limit=10)
    assert items[0]["sku"] != "diavola"
    assert items[-1]["sku"] == "diavola"
    assert items[-1]["available"] is False
    # pizza-pair covers the pizza category, nothing else.
    assert all(item["on_promotion"] == (item["category"] == "pizza") for item in items)


async def test_a_tenant_never_retrieves_another_tenants_documents(
    llm: Llm, tenants: Tenants, upstream: Upstream
) -> None:
    await ingest_demo(llm, tenants, "acme")
    secret = "Globex secret recipe: squid ink pizza with saffron"
    await ingest(
        llm,
        tenants,
        "globex",
        {
            "documents": [
                {
                    "id": "g1",
                    "kind": "menu",
                    "title": "Squid ink pizza",
                    "body": secret,
                    "metadata": {"sku": "squid", "price_cents": 2000},
                }
            ]
        },
    )
    items = await _menu(llm, "acme", query="squid ink pizza with saffron", limit=10)
    assert "squid" not in {item["sku"] for item in items}
    upstream.fake.script(reply("No squid here."))
    response = await llm.client.post(
        "/v1/chat",
        json={"messages": [{"role": "user", "content": "squid ink pizza with saffron?"}]},
        headers=tenants.headers("acme"),
    )
    assert response.status_code == 200
    system_prompt = upstream.fake.chat_requests[-1]["messages"][0]["content"]
    assert "Squid" not in system_prompt
    assert "saffron" not in system_prompt
    assert "Pizza" in system_prompt  # acme's own context is there
    globex_items = await _menu(llm, "globex", query="squid ink pizza with saffron", limit=10)
    assert [item["sku"] for item in globex_items] == ["squid"]
