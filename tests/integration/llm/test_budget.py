"""Per-tenant token budgets: counted from upstream usage, 429 once the day is spent."""

from __future__ import annotations

import pytest

from ragline_common.registry import TenantLimits
from tests.integration.llm.conftest import SettingsFactory, Tenants, Upstream, start_llm
from tests.integration.llm.fake_openai import reply

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
