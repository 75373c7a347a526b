"""The product cache: hits and misses counted, one filler per cold key, never a stale read."""

from __future__ import annotations

import asyncio
import random

import pytest
from redis.asyncio import Redis

from ragline_common.cache import CachePolicy, LeasedCache
from tests.integration.api.conftest import Api, Tenants, create_products

pytestmark = pytest.mark.integration

LOOKUPS = "ragline_api_cache_lookups_total"


def lookups(api: Api, result: str) -> float:
    return api.metric(LOOKUPS, {"cache": "product", "result": result})


async def test_reads_are_cached_under_a_tenant_scoped_key(
    api: Api, tenants: Tenants, redis_client: Redis
) -> None:
    [product, *_] = await create_products(api, tenants, "acme")
    url, headers = f"/v1/products/{product['id']}", tenants.headers("acme")
    first = await api.client.get(url, headers=headers)
    second = await api.client.get(url, headers=headers)
    assert first.json() == second.json() == product
    assert (lookups(api, "miss"), lookups(api, "hit")) == (1, 1)
    assert await redis_client.exists(f"ragline:api:cache:{{acme:product:{product['id']}}}")
    # Another tenant asking for the same id misses its own key and finds nothing.
    other = await api.client.get(url, headers=tenants.headers("globex"))
    assert other.status_code == 404


async def test_a_cold_key_is_loaded_once_however_many_readers_ask(
    api: Api, tenants: Tenants
) -> None:
    [product, *_] = await create_products(api, tenants, "acme")
    url, headers = f"/v1/products/{product['id']}", tenants.headers("acme")
    responses = await asyncio.gather(*(api.client.get(url, headers=headers) for _ in range(40)))
    assert all(r.status_code == 200 and r.json() == product for r in responses)
    assert lookups(api, "miss") == 1
    assert lookups(api, "fallback") == 0
    assert lookups(api, "hit") + lookups(api, "wait") == 39


async def test_no_reader_sees_an_old_value_once_a_write_returned(
    api: Api, tenants: Tenants
) -> None:
    [product, *_] = await create_products(api, tenants, "acme")
    url, headers = f"/v1/products/{product['id']}", tenants.headers("acme")
    committed = {"version": 1}
    done = asyncio.Event()
    stale: list[tuple[int, int]] = []
    reads = 0

    async def writer() -> None:
        for price in range(1, 31):
            response = await api.client.patch(url, json={"price_cents": price}, headers=headers)
            assert response.status_code == 200
            committed["version"] = response.json()["version"]
            await asyncio.sleep(random.uniform(0, 0.003))
        done.set()

    async def reader() -> None:
        nonlocal reads
        while not done.is_set():
            floor = committed["version"]
            response = await api.client.get(url, headers=headers)
            reads += 1
            seen = response.json()["version"]
            if seen < floor:
                stale.append((seen, floor))

    await asyncio.gather(writer(), *(reader() for _ in range(8)))
    assert reads > 30
    assert stale == []
    final = (await api.client.get(url, headers=headers)).json()
    assert final["price_cents"] == 30
    assert final["version"] == 31


async def test_a_filler_that_read_before_a_write_cannot_store_its_old_value(
    redis_client: Redis,
) -> None:
    cache = LeasedCache(redis_client, name="t", prefix="test", policy=CachePolicy(ttl_seconds=60))
    loaded = asyncio.Event()
    release = asyncio.Event()

    async def slow_old_value() -> bytes:
        loaded.set()
        await release.wait()  # the database answered "old" before the writer committed
        return b"old"

    filler = asyncio.create_task(cache.get_or_load("k", slow_old_value))
    await loaded.wait()
    await cache.invalidate("k")  # the writer commits, then invalidates
    release.set()
    assert await filler == b"old"  # the filler's own caller got what it read ...

    async def new_value() -> bytes:
        return b"new"

    assert await cache.get_or_load("k", new_value) == b"new"  # ... but it was never stored


async def test_absent_values_are_cached_and_invalidated_like_any_other(
    redis_client: Redis,
) -> None:
    cache = LeasedCache(redis_client, name="t", prefix="test")
    calls = 0

    async def nothing() -> bytes | None:
        nonlocal calls
        calls += 1
        return None

    assert await cache.get_or_load("gone", nothing) is None
    assert await cache.get_or_load("gone", nothing) is None
    assert calls == 1
    await cache.invalidate("gone")

    async def something() -> bytes:
        return b"here"

    assert await cache.get_or_load("gone", something) == b"here"
