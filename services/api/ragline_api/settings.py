"""Settings of the API service, from ``RAGLINE_API_*`` environment variables.

The operator sets these on the API Deployment (the DSNs from the RagPipeline's Secrets, the
registry and keys from the mounted ConfigMap and Secrets); every variable it sets is a field here.
"""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from ragline_common.redis_client import DEFAULT_COMMAND_TIMEOUT_SECONDS
from ragline_common.settings import ServiceSettings, TenantAuthSettings

# Orders are small; a menu-sized product description fits many times over.
DEFAULT_MAX_BODY_BYTES = 64 * 1024


class ApiSettings(ServiceSettings, TenantAuthSettings):
    """Everything ``create_app`` needs."""

    model_config = SettingsConfigDict(env_prefix="RAGLINE_API_", extra="ignore", frozen=True)

    service_name: str = "ragline-api"
    database_url: str = Field(
        description="PostgreSQL DSN (postgresql://user:pass@host:port/db); pgvector not required"
    )
    redis_url: str = Field(description="Redis-compatible URL for the cache and rate limits")
    db_role: str | None = Field(
        default="ragline_app",
        description=(
            "role every request's transaction switches to (SET LOCAL ROLE) so row-level security "
            "applies even when the DSN's user owns the tables; empty: use the DSN's user as is"
        ),
    )
    db_pool_size: int = Field(default=10, ge=1, le=200)
    db_max_overflow: int = Field(default=20, ge=0, le=500)
    redis_max_connections: int = Field(default=100, ge=1)
    redis_timeout_seconds: float = Field(
        default=DEFAULT_COMMAND_TIMEOUT_SECONDS,
        gt=0,
        le=30,
        description=(
            "longest wait for one Redis command; past it the cache reads through to the database "
            "and the rate limit lets the request in"
        ),
    )
    cache_ttl_seconds: int = Field(default=300, ge=1, description="product cache entry lifetime")
    max_body_bytes: int = Field(default=DEFAULT_MAX_BODY_BYTES, ge=1024)
    rate_limit_enabled: bool = Field(default=True, description="per-tenant limits from registry")
    event_source: str = Field(default="/ragline/api", description="CloudEvents `source`")
    idempotency_ttl_seconds: int = Field(
        default=24 * 3600,
        ge=60,
        description=(
            "how long an Idempotency-Key is remembered; an older key counts as new, and expired "
            "keys are purged"
        ),
    )
    idempotency_purge_interval_seconds: float = Field(
        default=300, gt=0, description="pause between two purges of expired idempotency keys"
    )
    idempotency_purge_batch_size: int = Field(
        default=1000, ge=1, le=100_000, description="expired keys deleted per purge transaction"
    )
    idempotency_purge_max_batches: int = Field(
        default=100, ge=1, description="batches one purge deletes at most before pausing"
    )
