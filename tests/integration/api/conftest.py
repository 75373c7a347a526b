"""A real API per test: migrated fresh database, the session's Valkey, a registry on disk."""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from redis.asyncio import Redis

from ragline_api import migrations
from ragline_api.app import create_app
from ragline_api.settings import ApiSettings
from ragline_api.state import ApiState
from ragline_common.auth import TokenSpec, mint_token
from ragline_common.registry import (
    SigningKey,
    TenantAuth,
    TenantEntry,
    TenantLimits,
    TenantRegistry,
    TenantState,
)

KID = "k1"
GENEROUS = TenantLimits(requests_per_second=10_000, burst=10_000)


def issuer(tenant_id: str) -> str:
    return f"https://auth.{tenant_id}.example"


@dataclass
class Tenants:
    """The test registry on disk and a way to mint tokens for it."""

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
        state: TenantState = TenantState.ACTIVE,
        limits: TenantLimits = GENEROUS,
    ) -> None:
        secret = secrets.token_urlsafe(48)
        key_file = self.keys_dir / tenant_id / KID
        key_file.parent.mkdir(parents=True, exist_ok=True)
        key_file.write_text(secret + "\n")
        self.secrets[tenant_id] = secret
        self.entries[tenant_id] = TenantEntry(
            tenant_id=tenant_id,
            state=state,
            auth=TenantAuth(issuer=issuer(tenant_id), signing_keys=[SigningKey(kid=KID)]),
            limits=limits,
        )
        self.publish()

    def set_state(self, tenant_id: str, state: TenantState) -> None:
        self.entries[tenant_id] = self.entries[tenant_id].model_copy(update={"state": state})
        self.publish()

    def publish(self) -> None:
        """Write the registry the way a ConfigMap update lands: a new file swapped in."""
        self.generation += 1
        registry = TenantRegistry(generation=self.generation, tenants=dict(self.entries))
        staging = self.directory / f".tenants.{self.generation}.json"
        staging.write_text(registry.model_dump_json(by_alias=True))
        staging.replace(self.registry_path)

    def token(
        self,
        tenant: str,
        *,
        user: str = "alice",
        roles: Sequence[str] = ("staff",),
        secret: str | None = None,
        kid: str = KID,
        ttl_seconds: int = 3600,
        claims: dict[str, Any] | None = None,
    ) -> str:
        """Mint a token of ``tenant``; ``claims`` override the standard ones."""
        spec = TokenSpec(
            tenant_id=tenant,
            user_id=user,
            roles=list(roles),
            issuer=issuer(tenant),
            ttl_seconds=ttl_seconds,
            extra=claims or {},
        )
        return mint_token(spec, secret=secret or self.secrets[tenant], kid=kid)

    def headers(self, tenant: str, **kwargs: Any) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token(tenant, **kwargs)}"}


@pytest.fixture
def tenants(tmp_path: Path) -> Tenants:
    """Tenants acme and globex (generous limits) and initech (suspended)."""
    registry = Tenants(directory=tmp_path / "registry")
    registry.directory.mkdir()
    registry.add("acme")
    registry.add("globex")
    registry.add("initech", state=TenantState.SUSPENDED)
    return registry


@pytest.fixture
async def api_database(fresh_database: str) -> str:
    """A fresh database with the API's schema."""
    await asyncio.to_thread(migrations.upgrade, fresh_database)
    return fresh_database


@pytest.fixture
async def redis_client(redis_url: str) -> AsyncIterator[Redis]:
    """A client of the session's Valkey, emptied first so no test sees another's keys."""
    client = Redis.from_url(redis_url)
    await client.flushdb()
    try:
        yield client
    finally:
        await client.aclose()


@pytest.fixture
def api_settings(
    api_database: str, redis_client: Redis, redis_url: str, tenants: Tenants
) -> ApiSettings:
    return ApiSettings(
        database_url=api_database,
        redis_url=redis_url,
        registry_path=tenants.registry_path,
        keys_dir=tenants.keys_dir,
        registry_reload_seconds=0,
        access_log=False,
        log_json=False,
        db_pool_size=20,
        db_max_overflow=60,
    )


AppFactory = Callable[..., FastAPI]


@dataclass
class Api:
    """A started app and an HTTP client talking to it in-process."""

    app: FastAPI
    client: httpx.AsyncClient

    @property
    def state(self) -> ApiState:
        state: ApiState = self.app.state.api
        return state

    def metric(self, name: str, labels: dict[str, str] | None = None) -> float:
        value = self.state.metrics.registry.get_sample_value(name, labels or {})
        return value or 0.0


@pytest.fixture
async def api(api_settings: ApiSettings) -> AsyncIterator[Api]:
    app = create_app(api_settings)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
        async with httpx.AsyncClient(transport=transport, base_url="http://api") as client:
            yield Api(app=app, client=client)


MENU = [
    {"sku": "margherita", "name": "Pizza Margherita", "price_cents": 950, "category": "pizza"},
    {"sku": "diavola", "name": "Pizza Diavola", "price_cents": 1150, "category": "pizza"},
    {"sku": "tiramisu", "name": "Tiramisu", "price_cents": 600, "category": "dessert"},
]


async def create_products(
    api: Api, tenants: Tenants, tenant_id: str, menu: Sequence[dict[str, Any]] = MENU
) -> list[dict[str, Any]]:
    """Create ``menu`` in ``tenant_id`` as staff; return the created products."""
    created = []
    for item in menu:
        response = await api.client.post(
            "/v1/products", json=item, headers=tenants.headers(tenant_id)
        )
        assert response.status_code == 201, response.text
        created.append(response.json())
    return created
