"""Chat with tools, whole answers: tool loop, tenant's tools only, events, auth."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import asyncpg
import jsonschema
import pytest

from ragline_common.registry import Tool
from tests.integration.llm.conftest import Llm, SettingsFactory, Tenants, Upstream, start_llm
from tests.integration.llm.fake_openai import calls, reply
from tests.integration.llm.knowledge import ingest_demo

pytestmark = pytest.mark.integration
SCHEMA = Path(__file__).resolve().parents[3] / "contracts/events/chat.tool.v1.json"


def _chat(content: str, **extra: Any) -> dict[str, Any]:
    return {"messages": [{"role": "user", "content": content}], **extra}


async def _outbox(dsn: str) -> list[dict[str, Any]]:
    conn = await asyncpg.connect(dsn)
    try:
        rows = await conn.fetch(
            "SELECT type, tenant_id, payload FROM llm_outbox ORDER BY created_at"
        )
    finally:
        await conn.close()
    return [
        {"type": r["type"], "tenant_id": r["tenant_id"], **json.loads(r["payload"])} for r in rows
    ]


async def test_the_model_calls_tools_and_answers_with_their_results(
    llm: Llm, tenants: Tenants, upstream: Upstream, fresh_database: str
) -> None:
    await ingest_demo(llm, tenants, "acme")
    upstream.fake.script(
        calls(("retrieve_menu", {"query": "spicy pizza"})),
        calls(("apply_promos", {"items": [{"sku": "diavola", "quantity": 2}]})),
        reply("Two Diavola come to 20.70 EUR."),
    )
    response = await llm.client.post(
        "/v1/chat",
        json=_chat("Two spicy pizzas, how much?", conversation_id="c-1"),
        headers=tenants.headers("acme"),
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["message"]["content"] == "Two Diavola come to 20.70 EUR."
    assert body["conversation_id"] == "c-1"
    menu, quote = body["tool_calls"]
    assert menu["status"] == "ok"
    assert menu["result"]["items"][0]["sku"] == "diavola"
    assert quote["result"]["total_cents"] == 2 * 1150 - 230
    assert body["usage"] == {"prompt_tokens": 80, "completion_tokens": 25, "total_tokens": 105}
    # The model saw the tool results in the next round.
    third = upstream.fake.chat_requests[2]["messages"]
    assert third[-1]["role"] == "tool"
    assert json.loads(third[-1]["content"])["total_cents"] == 2070
    events = await _outbox(fresh_database)
    assert [e["data"]["tool"] for e in events] == ["retrieve_menu", "apply_promos"]
    schema = json.loads(SCHEMA.read_text())
    for event in events:
        assert event["type"] == "chat.tool.v1"
        assert event["tenantid"] == "acme"
        assert event["subject"] == "conversation/c-1"
        jsonschema.validate(event["data"], schema)


async def test_only_the_tenants_enabled_tools_are_offered_and_run(
    llm_settings: SettingsFactory, tenants: Tenants, upstream: Upstream, fresh_database: str
) -> None:
    tenants.add("initech", tools=[Tool.RETRIEVE_MENU])
    async with start_llm(llm_settings()) as llm:
        upstream.fake.script(
            calls(("confirm", {"items": [{"sku": "x", "quantity": 1}]})), reply("Sorry.")
        )
        response = await llm.client.post(
            "/v1/chat", json=_chat("order!"), headers=tenants.headers("initech")
        )
        assert response.status_code == 200, response.text
        offered = [t["function"]["name"] for t in upstream.fake.chat_requests[0]["tools"]]
        assert offered == ["retrieve_menu"]
        [call] = response.json()["tool_calls"]
        assert call["status"] == "refused"
        [event] = await _outbox(fresh_database)
        assert event["data"]["status"] == "refused"
        assert (
            llm.metric("ragline_llm_tool_calls_total", {"tool": "confirm", "status": "refused"})
            == 1
        )


async def test_tool_choice_none_offers_no_tools_and_a_disabled_choice_is_refused(
    llm_settings: SettingsFactory, tenants: Tenants, upstream: Upstream
) -> None:
    tenants.add("initech", tools=[Tool.RETRIEVE_MENU])
    async with start_llm(llm_settings()) as llm:
        response = await llm.client.post(
            "/v1/chat", json=_chat("hi", tool_choice="none"), headers=tenants.headers("initech")
        )
        assert response.status_code == 200
        assert "tools" not in upstream.fake.chat_requests[-1]
        forced = {"type": "function", "function": {"name": "confirm"}}
        response = await llm.client.post(
            "/v1/chat", json=_chat("hi", tool_choice=forced), headers=tenants.headers("initech")
        )
        assert response.status_code == 422
        assert response.headers["content-type"] == "application/problem+json"
        forced = {"type": "function", "function": {"name": "retrieve_menu"}}
        await llm.client.post(
            "/v1/chat", json=_chat("hi", tool_choice=forced), headers=tenants.headers("initech")
        )
        assert upstream.fake.chat_requests[-1]["tool_choice"] == forced


async def test_malformed_tool_arguments_become_an_error_result(
    llm: Llm, tenants: Tenants, upstream: Upstream
) -> None:
    upstream.fake.script(calls(("apply_promos", {"items": []})), reply("Which items?"))
    response = await llm.client.post(
        "/v1/chat", json=_chat("price it"), headers=tenants.headers("acme")
    )
    [call] = response.json()["tool_calls"]
    assert call["status"] == "error"
    assert "items" in call["result"]["error"]


async def test_tokens_and_conversations_are_checked(llm: Llm, tenants: Tenants) -> None:
    assert (await llm.client.post("/v1/chat", json=_chat("hi"))).status_code == 401
    forged = tenants.token("acme")[:-4] + "AAAA"
    response = await llm.client.post(
        "/v1/chat", json=_chat("hi"), headers={"Authorization": f"Bearer {forged}"}
    )
    assert response.status_code == 401
    mine = await llm.client.post(
        "/v1/chat", json=_chat("hi", conversation_id="c-9"), headers=tenants.headers("acme")
    )
    assert mine.status_code == 200
    theirs = await llm.client.post(
        "/v1/chat",
        json=_chat("hi", conversation_id="c-9"),
        headers=tenants.headers("acme", user="mallory"),
    )
    assert theirs.status_code == 404
    customer = await llm.client.post(
        "/v1/knowledge", json={"documents": []}, headers=tenants.headers("acme")
    )
    assert customer.status_code == 403


async def test_the_upstream_gets_the_configured_model_key_and_limits(
    llm_settings: SettingsFactory, tenants: Tenants, upstream: Upstream
) -> None:
    settings = llm_settings(api_key="sk-configured", max_output_tokens=300, temperature=0.1)
    async with start_llm(settings) as llm:
        whole = await llm.client.post(
            "/v1/chat", json=_chat("hi", max_tokens=50), headers=tenants.headers("acme")
        )
        assert whole.status_code == 200
        body = {**_chat("hi"), "stream": True}
        async with llm.client.stream(
            "POST", "/v1/chat", json=body, headers=tenants.headers("acme")
        ) as streamed:
            assert b"event: message" in await streamed.aread()
    assert upstream.fake.chat_authorizations == ["Bearer sk-configured"] * 2
    first, second = upstream.fake.chat_requests
    assert (first["model"], first["max_tokens"], first["temperature"]) == ("test-model", 50, 0.1)
    assert first["stream"] is False
    assert second["max_tokens"] == 300
    assert second["stream_options"] == {"include_usage": True}
