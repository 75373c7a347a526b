"""Settings of the notifier, from ``RAGLINE_NOTIFIER_*`` environment variables.

The operator sets the broker, consumer group, transports, heartbeat and connection cap on the
notifier Deployment and mounts the tenant registry and keys; the rest have defaults sized for
10,000 clients per process.
"""

from __future__ import annotations

import os
import socket
from enum import StrEnum
from typing import Literal

from pydantic import Field, model_validator
from pydantic_settings import SettingsConfigDict

from ragline_common.settings import ServiceSettings, TenantAuthSettings

Backend = Literal["redis", "kafka"]


class Transport(StrEnum):
    """How clients receive events (the values the operator writes into ``transports``)."""

    SSE = "SSE"
    WEBSOCKET = "WebSocket"


class NotifierSettings(ServiceSettings, TenantAuthSettings):
    """Everything ``create_app`` needs."""

    model_config = SettingsConfigDict(env_prefix="RAGLINE_NOTIFIER_", extra="ignore", frozen=True)

    service_name: str = "ragline-notifier"
    host: str = Field(
        default="127.0.0.1", description="HTTP bind address (a pod sets 0.0.0.0 for its clients)"
    )
    port: int = Field(default=8082, ge=1, le=65535)
    backend: Backend = Field(default="redis", description="redis (Streams) or kafka")
    redis_url: str = Field(default="redis://127.0.0.1:6379/0")
    redis_stream: str = Field(default="ragline:events", min_length=1)
    kafka_bootstrap_servers: str = Field(default="127.0.0.1:9092", description="host:port[,...]")
    kafka_topic: str = Field(default="ragline.events", min_length=1)
    consumer_group: str = Field(
        default="notifier",
        min_length=1,
        description="prefix of this process's consumer group <prefix>.<instance id>",
    )
    instance_id: str = Field(
        default="",
        pattern=r"^[A-Za-z0-9._-]*$",
        description=(
            "names this process's consumer group; empty: <hostname>-<pid> (a pod's name is its "
            "hostname). Every notifier must see every event, so each has a group of its own."
        ),
    )
    transports: list[Transport] = Field(
        default_factory=lambda: [Transport.SSE, Transport.WEBSOCKET],
        min_length=1,
        description='transports offered, as JSON: ["SSE", "WebSocket"]',
    )
    heartbeat_seconds: float = Field(
        default=15.0, gt=0, le=300, description="keep-alive period of an idle connection"
    )
    max_connections: int = Field(
        default=10_000, ge=1, description="connections this process accepts, all tenants together"
    )
    client_buffer_events: int = Field(
        default=1_000,
        ge=1,
        description="events queued for one client; a client that falls further behind is dropped",
    )
    dedup_capacity: int = Field(
        default=100_000,
        ge=1_000,
        description="event ids remembered to drop duplicates (covers a relay's republished batch)",
    )
    replay_lookback: int = Field(
        default=2_000,
        ge=0,
        description="entries read before a resume position the dedup memory no longer covers",
    )
    replay_concurrency: int = Field(
        default=4, ge=1, description="resumes replayed at once; the others wait their turn"
    )
    fetch_count: int = Field(default=500, ge=1, le=10_000, description="entries read per fetch")
    fetch_block_ms: int = Field(default=1_000, ge=10, le=30_000, description="blocking read wait")
    sweep_seconds: float = Field(
        default=1.0, gt=0, description="how often suspended tenants and expired tokens are dropped"
    )

    @model_validator(mode="after")
    def _buffer_holds_a_fetch(self) -> NotifierSettings:
        # One fetched batch may be all for one client and is queued at once: a smaller buffer
        # would drop healthy clients as slow on every burst.
        if self.client_buffer_events < self.fetch_count:
            raise ValueError("client_buffer_events must be at least fetch_count")
        return self

    def group_name(self) -> str:
        """Return this process's consumer group."""
        return f"{self.consumer_group}.{self.instance_name()}"

    def instance_name(self) -> str:
        """Return the instance id, or ``<hostname>-<pid>`` when none is set."""
        return self.instance_id or f"{socket.gethostname()}-{os.getpid()}"
