"""Per-tenant token budgets: counted from upstream usage, 429 once the day is spent."""

from __future__ import annotations

from datetime import UTC, datetime

import asyncpg
import pytest

from ragline_common.registry import TenantLimits
from tests.integration.llm.conftest import SettingsFactory, Tenants, Upstream, start_llm
from tests.integration.llm.fake_openai import calls, reply

pytestmark = pytest.mark.integration
CHAT = {"messages": [{"role": "user", "content": "hi"}]}


async def test_the_daily_budget_is_enforced_per_tenant(
    llm_settings: SettingsFactory, tenants: Tenants, upstream: Upstream
) -> None:
    tenants.add("frugal", limits=TenantLimits(llm_tokens_per_day=40))
    async with start_llm(llm_settings()) as llm:
        upstream.fake.default = reply("ok", usage=(20, 5))
        for _ in range(2):  # 25, then 50 tokens: the second call starts under the budget
            response = await llm.client.post(
                "/v1/chat", json=CHAT, headers=tenants.headers("frugal")
            )
            assert response.status_code == 200
        refused = await llm.client.post("/v1/chat", json=CHAT, headers=tenants.headers("frugal"))
        assert refused.status_code == 429
        assert refused.headers["content-type"] == "application/problem+json"
        assert 1 <= int(refused.headers["Retry-After"]) <= 86_400
        assert refused.json()["type"].endswith("/token-budget-exhausted")
        assert len(upstream.fake.chat_requests) == 2
        # Another tenant's budget is its own.
        assert (
            await llm.client.post("/v1/chat", json=CHAT, headers=tenants.headers("acme"))
        ).status_code == 200
        assert llm.metric("ragline_llm_tokens_total", {"tenant": "frugal", "kind": "prompt"}) == 40
        assert (
            llm.metric("ragline_llm_tokens_total", {"tenant": "frugal", "kind": "completion"}) == 10
        )
        assert llm.metric("ragline_llm_budget_refusals_total", {"tenant": "frugal"}) == 1


async def test_a_streamed_answer_without_usage_is_estimated(
    llm_settings: SettingsFactory, tenants: Tenants, upstream: Upstream
) -> None:
    async with start_llm(llm_settings()) as llm:
        upstream.fake.script(reply("a fairly long answer of several words", usage=None))
        body = {**CHAT, "stream": True}
        async with llm.client.stream(
            "POST", "/v1/chat", json=body, headers=tenants.headers("acme")
        ) as response:
            text = await response.aread()
        assert b"event: message" in text
        assert llm.metric("ragline_llm_tokens_total", {"tenant": "acme", "kind": "completion"}) >= 7
        assert llm.metric("ragline_llm_tokens_total", {"tenant": "acme", "kind": "prompt"}) > 50


async def _usage(dsn: str, tenant: str) -> tuple[int, int] | None:
    conn = await asyncpg.connect(dsn)
    try:
        row = await conn.fetchrow(
            "SELECT prompt_tokens + completion_tokens AS tokens, requests FROM llm_token_usage"
            " WHERE tenant_id = $1",
            tenant,
        )
    finally:
        await conn.close()
    return None if row is None else (row["tokens"], row["requests"])


async def test_tokens_not_yet_written_still_count_against_the_budget(
    llm_settings: SettingsFactory, tenants: Tenants, upstream: Upstream, fresh_database: str
) -> None:
    tenants.add("frugal", limits=TenantLimits(llm_tokens_per_day=40))
    async with start_llm(llm_settings()) as llm:
        upstream.fake.default = reply("ok", usage=(20, 5))
        blocker = await asyncpg.connect(fresh_database)
        try:
            # The usage writes wait behind this lock; reading the table still works.
            transaction = blocker.transaction()
            await transaction.start()
            await blocker.execute("LOCK TABLE llm_token_usage IN EXCLUSIVE MODE")
            statuses = [
                (
                    await llm.client.post("/v1/chat", json=CHAT, headers=tenants.headers("frugal"))
                ).status_code
                for _ in range(3)
            ]
            assert statuses == [200, 200, 429]  # 0 + 25 pending, then 50 pending >= 40
            assert await _usage(fresh_database, "frugal") is None  # answered before written
            await transaction.rollback()
        finally:
            await blocker.close()
        await llm.state.chat.ledger.drain()
        assert await _usage(fresh_database, "frugal") == (50, 2)
        refused = await llm.client.post("/v1/chat", json=CHAT, headers=tenants.headers("frugal"))
        assert refused.status_code == 429
        assert len(upstream.fake.chat_requests) == 2
        assert llm.metric("ragline_llm_token_write_failures_total") == 0


async def test_a_failed_usage_write_is_counted_and_does_not_fail_the_answer(
    llm_settings: SettingsFactory,
    tenants: Tenants,
    upstream: Upstream,
    fresh_database: str,
    capsys: pytest.CaptureFixture[str],
) -> None:
    async with start_llm(llm_settings(api_key="sk-secret-key")) as llm:
        conn = await asyncpg.connect(fresh_database)
        try:
            await conn.execute("REVOKE INSERT, UPDATE ON llm_token_usage FROM ragline_app")
        finally:
            await conn.close()
        upstream.fake.default = reply("ok", usage=(20, 5))
        headers = tenants.headers("acme")
        for _ in range(2):
            response = await llm.client.post("/v1/chat", json=CHAT, headers=headers)
            assert response.status_code == 200
            assert response.json()["message"]["content"] == "ok"
        await llm.state.chat.ledger.drain()
        assert llm.metric("ragline_llm_token_write_failures_total") == 2
        metrics = (await llm.client.get("/metrics")).text
        assert "ragline_llm_token_write_failures_total 2.0" in metrics
        # Spent all the same, and nothing left pending for ever.
        assert llm.metric("ragline_llm_tokens_total", {"tenant": "acme", "kind": "prompt"}) == 40
        assert await _usage(fresh_database, "acme") is None
        assert llm.state.chat.ledger.pending("acme", day=datetime.now(UTC).date()) == 0
    logged = capsys.readouterr().err
    assert "writing token usage failed" in logged
    assert "acme" in logged
    assert "sk-secret-key" not in logged
    assert headers["Authorization"].removeprefix("Bearer ") not in logged


async def test_every_model_call_is_recorded_on_its_new_conversation(
    llm_settings: SettingsFactory, tenants: Tenants, upstream: Upstream, fresh_database: str
) -> None:
    async with start_llm(llm_settings()) as llm:
        upstream.fake.default = reply("ok", usage=(20, 5))
        upstream.fake.script(calls(("apply_promos", {"items": []})))  # c-whole: 2 model calls
        for conversation, stream in (("c-whole", False), ("c-streamed", True)):
            body = {**CHAT, "conversation_id": conversation, "stream": stream}
            response = await llm.client.post("/v1/chat", json=body, headers=tenants.headers("acme"))
            assert response.status_code == 200
        await llm.state.chat.ledger.drain()
    conn = await asyncpg.connect(fresh_database)
    try:
        rows = await conn.fetch(
            "SELECT conversation_id, user_id, turns, prompt_tokens, completion_tokens"
            " FROM llm_conversations ORDER BY conversation_id"
        )
    finally:
        await conn.close()
    assert [tuple(row) for row in rows] == [
        ("c-streamed", "alice", 1, 20, 5),
        ("c-whole", "alice", 2, 30 + 20, 10 + 5),
    ]
