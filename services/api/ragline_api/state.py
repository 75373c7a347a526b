"""What the API's lifespan builds and every request uses: pools, registry, verifier, limiter."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from redis.asyncio import Redis
from sqlalchemy.ext.asyncio import AsyncEngine

from ragline_api.metrics import ApiMetrics
from ragline_api.settings import ApiSettings
from ragline_common.auth import TokenVerifier
from ragline_common.cache import LeasedCache
from ragline_common.ratelimit import RateLimiter
from ragline_common.registry_store import RegistryStore


@dataclass(frozen=True)
class ApiState:
    """The running API's dependencies; lives in ``app.state.api`` between startup and shutdown."""

    settings: ApiSettings
    metrics: ApiMetrics
    engine: AsyncEngine
    redis: Redis
    registry: RegistryStore
    verifier: TokenVerifier
    limiter: RateLimiter
    product_cache: LeasedCache

    @property
    def db_role(self) -> str | None:
        """The role transactions switch to, or None to stay the DSN's user."""
        return self.settings.db_role or None

    @property
    def idempotency_ttl(self) -> timedelta:
        """How long an ``Idempotency-Key`` is remembered."""
        return timedelta(seconds=self.settings.idempotency_ttl_seconds)
