"""Retries, timeouts, malformed replies and the circuit breaker, through the real openai client."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from tests.integration.llm.conftest import Llm, SettingsFactory, Tenants, Upstream, start_llm
from tests.integration.llm.fake_openai import Step, fail, reply

pytestmark = pytest.mark.integration
CHAT = {"messages": [{"role": "user", "content": "hi"}]}


async def _ask(llm: Llm, tenants: Tenants, **extra: Any) -> Any:
    return await llm.client.post(
        "/v1/chat", json={**CHAT, **extra}, headers=tenants.headers("acme")
    )


async def test_transient_errors_are_retried(llm: Llm, tenants: Tenants, upstream: Upstream) -> None:
    upstream.fake.script(fail(500), fail(503), reply("third time lucky"))
    response = await _ask(llm, tenants)
    assert response.status_code == 200
    assert response.json()["message"]["content"] == "third time lucky"
    assert len(upstream.fake.chat_requests) == 3
    assert llm.metric("ragline_llm_upstream_retries_total", {"upstream": "chat"}) == 2


@pytest.mark.parametrize(
    ("step", "status"),
    [
        (fail(400), 502),
        (fail(404), 502),
        (Step(malformed=True), 502),
        (Step(content=""), 502),
        (Step(body={"choices": "none"}), 502),
        (Step(body={"choices": [{"message": {"content": 42}}]}), 502),
        (Step(body={"choices": [{"message": {"tool_calls": [{"function": {}}]}}]}), 502),
        (Step(body=["not", "a", "completion"]), 502),
    ],
)
async def test_request_errors_and_malformed_replies_are_not_retried(
    llm: Llm, tenants: Tenants, upstream: Upstream, step: Step, status: int
) -> None:
    upstream.fake.script(step)
    response = await _ask(llm, tenants)
    assert response.status_code == status
    assert response.headers["content-type"] == "application/problem+json"
    assert len(upstream.fake.chat_requests) == 1


async def test_a_slow_upstream_times_out(
    llm_settings: SettingsFactory, tenants: Tenants, upstream: Upstream
) -> None:
    async with start_llm(llm_settings(read_timeout_seconds=0.3, retry_attempts=1)) as llm:
        upstream.fake.script(Step(stall_seconds=5), Step(stall_seconds=5))
        response = await _ask(llm, tenants)
        assert response.status_code == 504
        assert len(upstream.fake.chat_requests) == 2  # a timeout is transient: retried once


async def test_the_breaker_opens_half_opens_and_closes(
    llm_settings: SettingsFactory, tenants: Tenants, upstream: Upstream
) -> None:
    settings = llm_settings(breaker_fail_max=3, retry_attempts=0, breaker_reset_seconds=1.0)
    async with start_llm(settings) as llm:
        upstream.fake.script(fail(500), fail(500), fail(500))
        for _ in range(3):
            assert (await _ask(llm, tenants)).status_code == 502
        # Open: answered at once, the upstream is not called.
        refused = await _ask(llm, tenants)
        assert refused.status_code == 503
        assert refused.headers["content-type"] == "application/problem+json"
        assert 1 <= int(refused.headers["Retry-After"]) <= 1
        assert len(upstream.fake.chat_requests) == 3
        ready = (await llm.client.get("/readyz")).json()
        assert ready["breakers"] == {"chat": "open", "embeddings": "closed"}
        metrics = (await llm.client.get("/metrics")).text
        assert 'ragline_llm_circuit_breaker_state{breaker="chat"} 2.0' in metrics
        await asyncio.sleep(1.1)
        # Half-open: one slow trial goes through, a concurrent request is refused meanwhile.
        upstream.fake.script(Step(content="recovered", stall_seconds=0.5))
        trial = asyncio.create_task(_ask(llm, tenants))
        await asyncio.sleep(0.2)
        assert (await _ask(llm, tenants)).status_code == 503
        assert (await trial).status_code == 200
        assert len(upstream.fake.chat_requests) == 4
        # Closed again.
        assert (await _ask(llm, tenants)).status_code == 200
        assert (await llm.client.get("/readyz")).json()["breakers"]["chat"] == "closed"
        assert llm.metric("ragline_llm_circuit_breaker_state", {"breaker": "chat"}) == 0
        transitions = {
            state: llm.metric(
                "ragline_llm_circuit_breaker_transitions_total", {"breaker": "chat", "state": state}
            )
            for state in ("open", "half-open", "closed")
        }
        assert transitions == {"open": 1, "half-open": 1, "closed": 1}


async def test_embedding_outage_opens_its_own_breaker_and_chat_still_answers(
    llm_settings: SettingsFactory, tenants: Tenants, upstream: Upstream
) -> None:
    settings = llm_settings(
        embedding_provider="OpenAICompatible",
        embedding_model="fake-embed",
        embedding_dimensions=64,
        breaker_fail_max=2,
        retry_attempts=0,
    )
    async with start_llm(settings) as llm:
        upstream.fake.embedding_failures = 100
        for _ in range(2):
            assert (await _ask(llm, tenants)).status_code == 200  # answered without context
        assert (await llm.client.get("/readyz")).json()["breakers"]["embeddings"] == "open"
        calls_before = len(upstream.fake.embedding_requests)
        response = await llm.client.post(
            "/v1/knowledge",
            json={"documents": [{"id": "d", "title": "x", "body": "y"}]},
            headers=tenants.headers("acme", roles=["staff"]),
        )
        assert response.status_code == 503
        assert "Retry-After" in response.headers
        assert len(upstream.fake.embedding_requests) == calls_before
