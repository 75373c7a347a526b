"""A real LLM service per test: a fresh database with pgvector, a tenant registry on disk, and the
scriptable OpenAI-compatible server — all on 127.0.0.1."""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from ragline_common.auth import TokenSpec, mint_token
from ragline_common.registry import (
    SigningKey,
    TenantAuth,
    TenantEntry,
    TenantLimits,
    TenantRegistry,
    TenantState,
    Tool,
)
from ragline_llm.app import create_app
from ragline_llm.settings import LlmSettings
from ragline_llm.state import LlmState
from tests.integration.llm.fake_openai import FakeOpenAI
from tests.integration.llm.servers import serve

KID = "k1"
READY_POLLS = 500
GENEROUS = TenantLimits(requests_per_second=10_000, burst=10_000)


def issuer(tenant_id: str) -> str:
    return f"https://auth.{tenant_id}.example"


@dataclass
class Tenants:
    """The registry file and keys, and tokens for them."""

    directory: Path
    entries: dict[str, TenantEntry] = field(default_factory=dict)
    secrets: dict[str, str] = field(default_factory=dict)
    generation: int = 0

    @property
    def registry_path(self) -> Path:
        return self.directory / "tenants.json"

    @property
    def keys_dir(self) -> Path:
        return self.directory / "keys"

    def add(
        self,
        tenant_id: str,
        *,
        tools: Sequence[Tool] = tuple(Tool),
        limits: TenantLimits = GENEROUS,
        state: TenantState = TenantState.ACTIVE,
    ) -> None:
        secret = secrets.token_urlsafe(48)
        key_file = self.keys_dir / tenant_id / KID
        key_file.parent.mkdir(parents=True, exist_ok=True)
        key_file.write_text(secret)
        self.secrets[tenant_id] = secret
        self.entries[tenant_id] = TenantEntry(
            tenant_id=tenant_id,
            display_name=tenant_id.title(),
            state=state,
            auth=TenantAuth(issuer=issuer(tenant_id), signing_keys=[SigningKey(kid=KID)]),
            limits=limits,
            tools=list(tools),
        )
        self.publish()

    def publish(self) -> None:
        self.generation += 1
        registry = TenantRegistry(generation=self.generation, tenants=dict(self.entries))
        staging = self.directory / f".tenants.{self.generation}.json"
        staging.write_text(registry.model_dump_json(by_alias=True))
        staging.replace(self.registry_path)

    def token(
        self, tenant_id: str, *, user: str = "alice", roles: Sequence[str] = ("customer",)
    ) -> str:
        spec = TokenSpec(
            tenant_id=tenant_id, user_id=user, roles=list(roles), issuer=issuer(tenant_id)
        )
        return mint_token(spec, secret=self.secrets[tenant_id], kid=KID)

    def headers(self, tenant_id: str, **kwargs: Any) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token(tenant_id, **kwargs)}"}


@pytest.fixture
def tenants(tmp_path: Path) -> Tenants:
    """acme and globex, every tool enabled."""
    registry = Tenants(directory=tmp_path / "registry")
    registry.directory.mkdir()
    registry.add("acme")
    registry.add("globex")
    return registry


@dataclass
class Upstream:
    fake: FakeOpenAI
    url: str


@pytest.fixture
async def upstream() -> AsyncIterator[Upstream]:
    fake = FakeOpenAI()
    async with serve(fake.app(), lifespan="off") as url:
        yield Upstream(fake=fake, url=url + "/v1")


SettingsFactory = Callable[..., LlmSettings]


@pytest.fixture
def llm_settings(fresh_database: str, tenants: Tenants, upstream: Upstream) -> SettingsFactory:
    def build(**overrides: Any) -> LlmSettings:
        values: dict[str, Any] = {
            "database_url": fresh_database,
            "base_url": upstream.url,
            "model": "test-model",
            "registry_path": tenants.registry_path,
            "keys_dir": tenants.keys_dir,
            "registry_reload_seconds": 0,
            "access_log": False,
            "log_json": False,
            "read_timeout_seconds": 2.0,
            "request_deadline_seconds": 5.0,
            "retry_base_delay_seconds": 0.01,
            "retry_max_delay_seconds": 0.05,
            "breaker_reset_seconds": 1.0,
            "db_pool_size": 5,
        }
        values.update(overrides)
        return LlmSettings(**values)

    return build


@dataclass
class Llm:
    """A running LLM service and a client of it."""

    app: FastAPI
    url: str
    client: httpx.AsyncClient

    @property
    def state(self) -> LlmState:
        state: LlmState = self.app.state.llm
        return state

    def metric(self, name: str, labels: dict[str, str] | None = None) -> float:
        return self.state.metrics.registry.get_sample_value(name, labels or {}) or 0.0

    async def wait_until_built(self) -> None:
        for _ in range(READY_POLLS):
            if not self.state.store.building:
                return
            await asyncio.sleep(0.01)
        raise AssertionError("the vector table was not built in time")


@asynccontextmanager
async def start_llm(settings: LlmSettings) -> AsyncIterator[Llm]:
    app = create_app(settings)
    async with serve(app) as url, httpx.AsyncClient(base_url=url, timeout=30.0) as client:
        service = Llm(app=app, url=url, client=client)
        await service.wait_until_built()
        yield service


@pytest.fixture
async def llm(llm_settings: SettingsFactory) -> AsyncIterator[Llm]:
    async with start_llm(llm_settings()) as service:
        yield service
