"""Streamed answers over SSE: deltas, tool events, the final message, and failures mid-stream."""

from __future__ import annotations

import asyncio
import json
import time
from typing import Any

import pytest

from tests.integration.llm.conftest import Llm, SettingsFactory, Tenants, Upstream, start_llm
from tests.integration.llm.fake_openai import Step, calls, fail, reply
from tests.integration.llm.knowledge import ingest_demo

pytestmark = pytest.mark.integration


async def _events(llm: Llm, tenants: Tenants, content: str) -> tuple[int, list[tuple[str, Any]]]:
    body = {"messages": [{"role": "user", "content": content}], "stream": True}
    events: list[tuple[str, Any]] = []
    async with llm.client.stream(
        "POST", "/v1/chat", json=body, headers=tenants.headers("acme")
    ) as response:
        if response.status_code != 200:
            await response.aread()
            return response.status_code, [("problem", response.json())]
        name = None
        async for line in response.aiter_lines():
            if line.startswith("event: "):
                name = line.removeprefix("event: ")
            elif line.startswith("data: ") and name is not None:
                events.append((name, json.loads(line.removeprefix("data: "))))
                name = None
    return 200, events


async def test_deltas_tool_events_and_the_final_message(
    llm: Llm, tenants: Tenants, upstream: Upstream
) -> None:
    await ingest_demo(llm, tenants, "acme")
    upstream.fake.script(
        calls(("retrieve_menu", {"query": "lemonade"})), reply("Our lemonade is fresh.")
    )
    status, events = await _events(llm, tenants, "Tell me about the lemonade")
    assert status == 200
    names = [name for name, _ in events]
    assert names[:2] == ["tool_call", "tool_result"]
    assert names[-1] == "message"
    deltas = "".join(data["content"] for name, data in events if name == "delta")
    assert deltas == "Our lemonade is fresh."
    assert events[1][1]["result"]["items"][0]["sku"] == "lemonade"
    final = events[-1][1]
    assert final["message"]["content"] == deltas
    assert final["usage"]["total_tokens"] == 30 + 10 + 20 + 5
    assert upstream.fake.chat_requests[0]["stream"] is True


async def test_a_stream_cut_midway_ends_with_an_error_event(
    llm: Llm, tenants: Tenants, upstream: Upstream
) -> None:
    upstream.fake.script(Step(content="one two three four five six", cut_after_chunks=3))
    status, events = await _events(llm, tenants, "hi")
    assert status == 200
    names = [name for name, _ in events]
    assert names[0] == "delta"
    assert names[-1] == "error"
    assert "message" not in names
    assert events[-1][1]["status"] == 502


async def test_a_stalled_stream_ends_with_a_timeout_not_a_hang(
    llm_settings: SettingsFactory, tenants: Tenants, upstream: Upstream
) -> None:
    async with start_llm(llm_settings(read_timeout_seconds=0.5)) as llm:
        upstream.fake.script(
            Step(content="slow answer here", stall_seconds=30, stall_after_chunks=2)
        )
        started = time.monotonic()
        status, events = await _events(llm, tenants, "hi")
        assert time.monotonic() - started < 10
        assert status == 200
        assert events[-1][0] == "error"
        assert events[-1][1]["status"] == 504


async def test_a_failure_before_the_first_event_is_a_problem_response(
    llm_settings: SettingsFactory, tenants: Tenants, upstream: Upstream
) -> None:
    async with start_llm(llm_settings(retry_attempts=0)) as llm:
        upstream.fake.script(fail(500))
        status, events = await _events(llm, tenants, "hi")
        assert status == 502
        assert events[0][1]["type"].endswith("/upstream-failed")


async def test_a_transient_failure_before_the_first_token_is_retried(
    llm: Llm, tenants: Tenants, upstream: Upstream
) -> None:
    upstream.fake.script(fail(503), reply("fine now"))
    status, events = await _events(llm, tenants, "hi")
    assert status == 200
    assert events[-1][1]["message"]["content"] == "fine now"
    assert len(upstream.fake.chat_requests) == 2


async def test_a_client_hanging_up_mid_stream_is_not_an_upstream_failure(
    llm: Llm, tenants: Tenants, upstream: Upstream
) -> None:
    upstream.fake.script(Step(content="a b c d e f", stall_seconds=1.0, stall_after_chunks=3))
    body = {"messages": [{"role": "user", "content": "hi"}], "stream": True}
    async with llm.client.stream(
        "POST", "/v1/chat", json=body, headers=tenants.headers("acme")
    ) as r:
        async for line in r.aiter_lines():
            if line == "event: delta":
                break  # leave after the first token
    await asyncio.sleep(1.5)  # the abandoned upstream call has finished or been cancelled
    breaker = llm.state.breakers[0]
    assert breaker.state == "closed"
    assert breaker.breaker.fail_counter == 0
    upstream.fake.script(reply("still here"))
    status, events = await _events(llm, tenants, "hi again")
    assert status == 200
    assert events[-1][1]["message"]["content"] == "still here"
