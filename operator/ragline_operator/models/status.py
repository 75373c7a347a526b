"""Status of the three custom resources: bounded, declared, written only by the operator.

Everything the operator writes into ``status`` is declared here, because the API server prunes
undeclared fields of a structural schema. Lists are capped (at most
:data:`~ragline_operator.models.base.MAX_STATUS_ITEMS` entries), so status never grows with traffic.
"""

from __future__ import annotations

from typing import Any

from pydantic import Field

from ragline_operator.models.base import (
    MAX_STATUS_ITEMS,
    Conditions,
    StatusModel,
    list_extensions,
)

# A rotation keeps the current key, the one it replaced and at most two older, still-overlapping
# keys; the tenant registry accepts at most this many per tenant.
MAX_SIGNING_KEYS = 4
DATE_TIME: dict[str, Any] = {"format": "date-time"}


class SigningKeyStatus(StatusModel):
    """One generated signing key (never its material)."""

    kid: str = Field(max_length=63, description="Key id, the JWT header's `kid`.")
    created_at: str = Field(json_schema_extra=DATE_TIME, description="When it was generated.")
    not_after: str | None = Field(
        default=None,
        json_schema_extra=DATE_TIME,
        description="After this time it no longer verifies tokens (set when it is rotated out).",
    )


class TenantConfigStatus(StatusModel):
    """What the operator made of a TenantConfig."""

    observed_generation: int | None = Field(
        default=None, ge=0, description="The metadata.generation last reconciled."
    )
    conditions: Conditions
    signing_key_secret: str | None = Field(
        default=None, max_length=253, description="Secret holding the generated keys, by kid."
    )
    key_id: str | None = Field(
        default=None, max_length=63, description="The kid new tokens should be signed with."
    )
    issuer: str | None = Field(
        default=None, max_length=512, description="The `iss` claim tokens must carry."
    )
    signing_keys: list[SigningKeyStatus] = Field(
        default_factory=list,
        max_length=MAX_SIGNING_KEYS,
        description="Keys that currently verify tokens, newest first.",
        json_schema_extra=list_extensions("map", "kid"),
    )
    registry_config_map: str | None = Field(
        default=None, max_length=253, description="The namespace's tenant-registry ConfigMap."
    )


class OutboxStatus(StatusModel):
    """The outbox backlog, as the operator last read it from the outbox database."""

    pending: int | None = Field(default=None, ge=0, description="Rows not yet published.")
    oldest_pending_seconds: int | None = Field(
        default=None, ge=0, description="Age of the oldest unpublished row, in whole seconds."
    )
    dead_letters: int | None = Field(
        default=None, ge=0, description="Events the relay gave up on (its admin API replays them)."
    )


class ConsumerStatus(StatusModel):
    """One consumer group's lag and scale."""

    group: str = Field(max_length=128, description="Consumer group id.")
    lag: int | None = Field(default=None, ge=0, description="Total lag (entries behind).")
    partitions_with_lag: int | None = Field(
        default=None, ge=0, description="Kafka partitions whose lag is above zero."
    )
    replicas: int | None = Field(default=None, ge=0, description="Current replicas.")
    desired_replicas: int | None = Field(
        default=None, ge=0, description="Replicas the scaling policy wants."
    )
    cap_reason: str | None = Field(
        default=None, max_length=64, description="Why desired is capped, e.g. PartitionsWithLag."
    )
    last_scale_time: str | None = Field(
        default=None, json_schema_extra=DATE_TIME, description="When replicas last changed."
    )


class EventStreamEndpoints(StatusModel):
    """In-cluster URLs of the stream's services."""

    notifier: str | None = Field(default=None, max_length=512, description="Notifier base URL.")


class EventStreamStatus(StatusModel):
    """What the operator made of an EventStream."""

    observed_generation: int | None = Field(
        default=None, ge=0, description="The metadata.generation last reconciled."
    )
    conditions: Conditions
    lag: int | None = Field(default=None, ge=0, description="Total lag over all consumer groups.")
    replicas: int | None = Field(default=None, ge=0, description="Notifier pods running.")
    outbox: OutboxStatus | None = Field(default=None, description="Outbox backlog.")
    consumers: list[ConsumerStatus] = Field(
        default_factory=list,
        max_length=MAX_STATUS_ITEMS,
        description="Per consumer group lag and scale.",
        json_schema_extra=list_extensions("map", "group"),
    )
    endpoints: EventStreamEndpoints | None = Field(default=None, description="Service URLs.")


class IndexStatus(StatusModel):
    """The vector index the chat service reads from."""

    documents: int | None = Field(default=None, ge=0, description="Documents indexed.")
    chunks: int | None = Field(default=None, ge=0, description="Chunks indexed.")
    embedding_provider: str | None = Field(
        default=None, max_length=32, description="Embedding provider of the active index."
    )
    embedding_model: str | None = Field(
        default=None, max_length=256, description="Embedding model of the active index."
    )
    dimensions: int | None = Field(default=None, ge=1, description="Vector dimensions.")
    table: str | None = Field(default=None, max_length=63, description="Active chunk table.")
    last_indexed_at: str | None = Field(
        default=None, json_schema_extra=DATE_TIME, description="When ingestion last completed."
    )
    ingestion_job: str | None = Field(
        default=None, max_length=63, description="The ingestion Job these counts come from."
    )


class RagPipelineEndpoints(StatusModel):
    """In-cluster URLs of the pipeline's services."""

    api: str | None = Field(default=None, max_length=512, description="API base URL.")
    chat: str | None = Field(default=None, max_length=512, description="Chat (LLM) base URL.")
    events: str | None = Field(
        default=None, max_length=512, description="Notifier of the referenced EventStream."
    )


class RagPipelineStatus(StatusModel):
    """What the operator made of a RagPipeline."""

    observed_generation: int | None = Field(
        default=None, ge=0, description="The metadata.generation last reconciled."
    )
    conditions: Conditions
    index: IndexStatus | None = Field(default=None, description="The active vector index.")
    endpoints: RagPipelineEndpoints | None = Field(default=None, description="Service URLs.")
