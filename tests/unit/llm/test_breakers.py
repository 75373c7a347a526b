"""The circuit breaker: opens, refuses with Retry-After, admits one trial, closes."""

from __future__ import annotations

import asyncio

import httpx2
import openai
import pytest

from ragline_llm.breakers import UpstreamBreaker
from ragline_llm.errors import UpstreamUnavailableError
from ragline_llm.metrics import LlmMetrics

RESET_SECONDS = 0.3


class BoomError(Exception):
    pass


async def _fail() -> None:
    raise BoomError


async def _call(breaker: UpstreamBreaker, operation: object) -> None:
    with breaker.guard():
        await operation()  # type: ignore[operator]


def _status_error(status: int) -> openai.APIStatusError:
    request = httpx2.Request("POST", "http://127.0.0.1/v1/chat/completions")
    response = httpx2.Response(status, request=request)
    return openai.APIStatusError("scripted", response=response, body=None)


async def test_opens_after_consecutive_failures_and_refuses_with_retry_after() -> None:
    metrics = LlmMetrics.create()
    breaker = UpstreamBreaker("chat", fail_max=3, reset_seconds=30, metrics=metrics)
    for _ in range(3):
        with pytest.raises(BoomError):
            await _call(breaker, _fail)
    assert breaker.state == "open"
    calls = 0

    async def counted() -> None:
        nonlocal calls
        calls += 1

    with pytest.raises(UpstreamUnavailableError) as refused:
        await _call(breaker, counted)
    assert calls == 0
    assert 1 <= refused.value.retry_after_seconds <= 30
    assert refused.value.headers["Retry-After"] == str(refused.value.retry_after_seconds)
    assert (
        metrics.registry.get_sample_value("ragline_llm_circuit_breaker_state", {"breaker": "chat"})
        == 2
    )


async def test_half_open_admits_one_trial_and_closes_on_success() -> None:
    breaker = UpstreamBreaker("chat", fail_max=1, reset_seconds=RESET_SECONDS)
    with pytest.raises(BoomError):
        await _call(breaker, _fail)
    await asyncio.sleep(RESET_SECONDS + 0.05)
    assert breaker.state == "half-open"
    release = asyncio.Event()

    async def slow_trial() -> None:
        await release.wait()

    trial = asyncio.create_task(_call(breaker, slow_trial))
    await asyncio.sleep(0.01)
    with pytest.raises(UpstreamUnavailableError):
        await _call(breaker, slow_trial)  # a second caller while the trial runs
    release.set()
    await trial
    assert breaker.state == "closed"


async def test_a_failed_trial_opens_again() -> None:
    breaker = UpstreamBreaker("chat", fail_max=1, reset_seconds=RESET_SECONDS)
    with pytest.raises(BoomError):
        await _call(breaker, _fail)
    await asyncio.sleep(RESET_SECONDS + 0.05)
    with pytest.raises(BoomError):
        await _call(breaker, _fail)
    assert breaker.state == "open"


async def test_request_errors_and_cancellation_are_not_the_upstreams_fault() -> None:
    breaker = UpstreamBreaker("chat", fail_max=2, reset_seconds=30)

    async def bad_request() -> None:
        raise _status_error(400)

    for _ in range(3):
        with pytest.raises(openai.APIStatusError):
            await _call(breaker, bad_request)
    task = asyncio.create_task(_call(breaker, asyncio.Event().wait))
    await asyncio.sleep(0.01)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert breaker.state == "closed"

    async def server_error() -> None:
        raise _status_error(503)

    for _ in range(2):
        with pytest.raises(openai.APIStatusError):
            await _call(breaker, server_error)
    assert breaker.state == "open"
