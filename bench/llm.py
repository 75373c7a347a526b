"""``make bench ONLY=llm``: the LLM service's added latency over its upstream's own time.

The same scripted OpenAI-compatible server the tests use answers every request at once; the
baseline is its latency called directly with the same ``openai`` client, the measurement the same
request through the service (JWT check, budget, conversation, retrieval of context on real
pgvector, model call, token accounting). Both run in this process on 127.0.0.1, interleaved, so
machine noise hits both alike. Reported: ``overhead_p50_ms`` (whole answers) and
``ttft_overhead_ms`` (time to first streamed token, p50).
"""

from __future__ import annotations

import asyncio
import secrets
import shutil
import statistics
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import httpx
from openai import AsyncOpenAI
from openai.types.chat import ChatCompletionUserMessageParam

from ragline_common.auth import TokenSpec, mint_token
from ragline_common.registry import SigningKey, TenantAuth, TenantEntry, TenantRegistry
from ragline_dev.infra import Stack
from ragline_dev.infra.postgres import Postgres
from ragline_llm.app import create_app
from ragline_llm.demo import demo_bundle
from ragline_llm.settings import LlmSettings
from tests.integration.llm.fake_openai import FakeOpenAI, reply
from tests.integration.llm.servers import serve

REQUESTS = 200
WARMUP = 20
QUESTION: ChatCompletionUserMessageParam = {
    "role": "user",
    "content": "Do you have a vegan salad?",
}


def _registry(directory: Path) -> str:
    secret = secrets.token_urlsafe(48)
    (directory / "keys" / "demo").mkdir(parents=True)
    (directory / "keys" / "demo" / "k1").write_text(secret)
    entry = TenantEntry(
        tenant_id="demo",
        auth=TenantAuth(issuer="https://bench", signing_keys=[SigningKey(kid="k1")]),
    )
    registry = TenantRegistry(tenants={"demo": entry})
    (directory / "tenants.json").write_text(registry.model_dump_json(by_alias=True))
    spec = TokenSpec(tenant_id="demo", user_id="bench", roles=["staff"], issuer="https://bench")
    return mint_token(spec, secret=secret, kid="k1")


def _p50_ms(samples: list[float]) -> float:
    return round(statistics.median(samples) * 1000, 3)


class Probes:
    """The four requests measured: whole and streamed, directly and through the service."""

    def __init__(self, service: httpx.AsyncClient, upstream: AsyncOpenAI, token: str) -> None:
        self.service = service
        self.upstream = upstream
        self.headers = {"Authorization": f"Bearer {token}"}

    async def direct(self) -> float:
        started = time.perf_counter()
        await self.upstream.chat.completions.create(model="bench", messages=[QUESTION])
        return time.perf_counter() - started

    async def through(self) -> float:
        started = time.perf_counter()
        body = {"messages": [QUESTION]}
        response = await self.service.post("/v1/chat", json=body, headers=self.headers)
        response.raise_for_status()
        return time.perf_counter() - started

    async def direct_ttft(self) -> float:
        started = time.perf_counter()
        first = None
        stream = await self.upstream.chat.completions.create(
            model="bench", messages=[QUESTION], stream=True
        )
        async for chunk in stream:
            if first is None and chunk.choices and chunk.choices[0].delta.content:
                first = time.perf_counter()
        return (first or time.perf_counter()) - started

    async def through_ttft(self) -> float:
        started = time.perf_counter()
        first = None
        body = {"messages": [QUESTION], "stream": True}
        async with self.service.stream("POST", "/v1/chat", json=body, headers=self.headers) as r:
            async for line in r.aiter_lines():
                if first is None and line == "event: delta":
                    first = time.perf_counter()
        return (first or time.perf_counter()) - started


async def _measure(probes: Probes) -> dict[str, Any]:
    calls: dict[str, Callable[[], Awaitable[float]]] = {
        "direct": probes.direct,
        "through": probes.through,
        "direct_ttft": probes.direct_ttft,
        "ttft": probes.through_ttft,
    }
    samples: dict[str, list[float]] = {name: [] for name in calls}
    for n in range(WARMUP + REQUESTS):
        for name, call in calls.items():  # interleaved: noise hits every probe alike
            elapsed = await call()
            if n >= WARMUP:
                samples[name].append(elapsed)
    p50 = {name: _p50_ms(values) for name, values in samples.items()}
    return {
        "requests": REQUESTS,
        "upstream_p50_ms": p50["direct"],
        "service_p50_ms": p50["through"],
        "overhead_p50_ms": round(p50["through"] - p50["direct"], 3),
        "upstream_ttft_p50_ms": p50["direct_ttft"],
        "service_ttft_p50_ms": p50["ttft"],
        "ttft_overhead_ms": round(p50["ttft"] - p50["direct_ttft"], 3),
        "target_overhead_p50_ms": 5.0,
    }


async def run() -> dict[str, Any]:
    """Start PostgreSQL, the scripted upstream and the service; measure; stop everything."""
    root = Path(tempfile.mkdtemp(prefix="ragline-bench-llm-"))
    stack = Stack(root=root, parts=[Postgres(durable=False)])
    try:
        dsn = stack.up()["postgres"].endpoints["dsn"]
        token = _registry(root)
        fake = FakeOpenAI(default=reply("We have the Vegan Garden Bowl."))
        async with serve(fake.app(), lifespan="off") as upstream_url:
            settings = LlmSettings(
                database_url=dsn,
                base_url=upstream_url + "/v1",
                registry_path=root / "tenants.json",
                keys_dir=root / "keys",
                access_log=False,
                log_level="WARNING",
            )
            async with (
                serve(create_app(settings)) as url,
                httpx.AsyncClient(base_url=url) as client,
            ):
                bundle = demo_bundle("demo")
                bundle.pop("tenant")
                headers = {"Authorization": f"Bearer {token}"}
                (
                    await client.post("/v1/knowledge", json=bundle, headers=headers)
                ).raise_for_status()
                upstream = AsyncOpenAI(
                    base_url=upstream_url + "/v1", api_key="bench", max_retries=0
                )
                try:
                    return await _measure(Probes(client, upstream, token))
                finally:
                    await upstream.close()
    finally:
        stack.close()
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    print(asyncio.run(run()))
