"""Settings of the relay, from ``RAGLINE_RELAY_*`` environment variables.

The operator sets the database, broker, batch and wake-up fields on the relay Deployment; the rest
have defaults that suit one relay per outbox. The tenant registry and keys are only needed by the
dead-letter admin endpoints (their tokens are verified against it).
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from ragline_common.settings import ServiceSettings, TenantAuthSettings

Backend = Literal["redis", "kafka"]

# Kafka's own default for a producer request; a topic's max.message.bytes is usually the same.
DEFAULT_KAFKA_MAX_REQUEST_BYTES = 1_048_576
# A published outbox row is only a receipt: the event lives on in the stream and the order in its
# table. A day keeps the receipts of the last day's incidents (when was this event published?)
# while bounding the API's hot table to one day of traffic, not every order ever placed.
DEFAULT_OUTBOX_RETENTION_SECONDS = 86_400


class RelaySettings(ServiceSettings, TenantAuthSettings):
    """Everything the relay needs: the outbox database, one broker, and how to drain."""

    model_config = SettingsConfigDict(env_prefix="RAGLINE_RELAY_", extra="ignore", frozen=True)

    service_name: str = "ragline-relay"
    host: str = Field(
        default="127.0.0.1", description="HTTP bind address (a pod sets 0.0.0.0 for its probes)"
    )
    port: int = Field(default=8081, ge=1, le=65535, description="HTTP port: probes, metrics, admin")
    database_url: str = Field(
        description="PostgreSQL DSN of the outbox database; the user must own the outbox (RLS)"
    )
    backend: Backend = Field(default="redis", description="redis (Streams) or kafka")
    redis_url: str = Field(default="redis://127.0.0.1:6379/0")
    redis_stream: str = Field(default="ragline:events", min_length=1)
    redis_max_len: int = Field(
        default=1_000_000, ge=1, description="approximate MAXLEN the stream is trimmed to"
    )
    kafka_bootstrap_servers: str = Field(default="127.0.0.1:9092", description="host:port[,...]")
    kafka_topic: str = Field(default="ragline.events", min_length=1)
    kafka_linger_ms: int = Field(
        default=0,
        ge=0,
        le=1000,
        description="producer batching delay; 0 is right: the relay hands over whole batches",
    )
    kafka_max_request_bytes: int = Field(
        default=DEFAULT_KAFKA_MAX_REQUEST_BYTES,
        ge=1024,
        description="largest produce request; a bigger event fails to publish (dead letter)",
    )
    batch_size: int = Field(default=500, ge=1, le=10_000, description="outbox rows per claim")
    workers: int = Field(
        default=2,
        ge=1,
        le=16,
        description="concurrent claim→publish→mark loops (one's DB work overlaps another's send)",
    )
    poll_interval_seconds: float = Field(
        default=0.25, gt=0, le=60, description="poll period when no NOTIFY arrives"
    )
    listen_notify: bool = Field(default=True, description="wake on LISTEN/NOTIFY, not just polls")
    max_attempts: int = Field(
        default=5, ge=1, le=100, description="publish attempts of one event before dead letters"
    )
    retry_base_seconds: float = Field(
        default=1.0, gt=0, description="first retry delay of an event the broker rejected"
    )
    retry_max_seconds: float = Field(default=300.0, gt=0, description="cap of that delay")
    broker_backoff_max_seconds: float = Field(
        default=5.0,
        gt=0,
        description="cap of the pause after a batch failed (broker down): keeps recovery quick",
    )
    publish_timeout_seconds: float = Field(
        default=10.0, gt=0, description="a batch not acknowledged by then counts as failed"
    )
    stats_interval_seconds: float = Field(
        default=5.0, gt=0, description="how often pending rows, their age and dead letters are read"
    )
    outbox_retention_seconds: float = Field(
        default=DEFAULT_OUTBOX_RETENTION_SECONDS,
        ge=0,
        description="published outbox rows older than this are deleted; 0 keeps them for ever",
    )
    outbox_purge_interval_seconds: float = Field(
        default=60.0, gt=0, le=86_400, description="how often the published rows are purged"
    )
    outbox_purge_batch_size: int = Field(
        default=1000,
        ge=1,
        le=100_000,
        description="rows deleted per statement: short transactions, short locks",
    )
    migrate: bool = Field(
        default=True, description="bring the relay's own tables up to date at start-up"
    )
