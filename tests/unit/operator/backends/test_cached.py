"""The backend cache: one call per question at a time, answers reused for the TTL."""

from __future__ import annotations

import asyncio

import pytest

from ragline_operator.backends.cached import TtlCache


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


async def test_concurrent_askers_share_one_call_and_the_answer_is_reused() -> None:
    clock = Clock()
    cache: TtlCache[str] = TtlCache(ttl=10, clock=clock)
    calls = 0
    gate = asyncio.Event()

    async def probe() -> str:
        nonlocal calls
        calls += 1
        await gate.wait()
        return "ok"

    first = asyncio.create_task(cache.get("db", probe))
    second = asyncio.create_task(cache.get("db", probe))
    await asyncio.sleep(0)
    gate.set()

    assert list(await asyncio.gather(first, second)) == ["ok", "ok"]
    assert await cache.get("db", probe) == "ok"
    assert calls == 1
    clock.now = 11
    assert await cache.get("db", probe) == "ok"
    assert calls == 2


async def test_only_the_caller_that_ran_the_call_sees_one_off_facts() -> None:
    cache: TtlCache[str] = TtlCache(ttl=10, clock=Clock())

    async def create() -> str:
        return "created"

    first = await cache.get("topic", create, keep=lambda answer: "exists")
    again = await cache.get("topic", create, keep=lambda answer: "exists")

    assert (first, again) == ("created", "exists")


async def test_a_failure_reaches_every_asker_and_is_not_cached() -> None:
    cache: TtlCache[str] = TtlCache(ttl=10, clock=Clock())
    calls = 0

    async def broken() -> str:
        nonlocal calls
        calls += 1
        await asyncio.sleep(0)
        raise RuntimeError("boom")

    results = await asyncio.gather(
        cache.get("k", broken), cache.get("k", broken), return_exceptions=True
    )

    assert all(isinstance(r, RuntimeError) for r in results)
    with pytest.raises(RuntimeError):
        await cache.get("k", broken)
    assert calls == 2


async def test_forget_drops_an_answer() -> None:
    cache: TtlCache[int] = TtlCache(ttl=10, clock=Clock())
    answers = iter([1, 2])

    async def next_answer() -> int:
        return next(answers)

    assert await cache.get("k", next_answer) == 1
    cache.forget("k")
    assert await cache.get("k", next_answer) == 2
