"""EventStream spec: broker, outbox relay, notifier, consumers and their autoscaling."""

from __future__ import annotations

from enum import StrEnum

from pydantic import ConfigDict, Field

from ragline_operator.models.base import (
    MAX_STATUS_ITEMS,
    DeletionPolicy,
    Duration,
    MonitoringSpec,
    ResourceKind,
    ResourceRequirements,
    Retention,
    SecretValue,
    SpecModel,
    cel,
    immutable,
    list_extensions,
    validations,
)

EVENTSTREAM = ResourceKind(kind="EventStream", plural="eventstreams", short_name="es")
BUILTIN_CONSUMER_GROUP = "notifier"


class BackendType(StrEnum):
    """The broker behind an EventStream."""

    KAFKA = "Kafka"
    REDIS = "Redis"


class KafkaBackend(SpecModel):
    """A Kafka topic, created with these settings if missing."""

    bootstrap_servers: SecretValue = Field(description="Secret key holding host:port[,host:port].")
    topic: str = Field(
        pattern=r"^[a-zA-Z0-9._-]+$",
        min_length=1,
        max_length=249,
        description="Topic name; immutable (consumers would lose their position).",
        json_schema_extra=immutable("backend.kafka.topic"),
    )
    partitions: int = Field(
        default=6,
        ge=1,
        le=1024,
        description="Partitions; can only grow (Kafka cannot remove partitions).",
        json_schema_extra=validations(
            cel(
                "self >= oldSelf",
                "backend.kafka.partitions can only grow",
                reason="FieldValueInvalid",
            )
        ),
    )
    replication_factor: int = Field(
        default=1,
        ge=1,
        le=7,
        description="Replicas of each partition; immutable.",
        json_schema_extra=immutable("backend.kafka.replicationFactor"),
    )
    retention: Retention = Field(default="7d", description="retention.ms of the topic, e.g. 7d.")


class RedisBackend(SpecModel):
    """A Redis stream, trimmed approximately to maxLen entries."""

    url: SecretValue = Field(description="Secret key holding the redis:// or rediss:// URL.")
    stream: str = Field(
        pattern=r"^[A-Za-z0-9:._-]+$",
        min_length=1,
        max_length=256,
        description="Stream key; immutable.",
        json_schema_extra=immutable("backend.redis.stream"),
    )
    max_len: int = Field(
        default=1_000_000, ge=1, le=1_000_000_000, description="Approximate MAXLEN trimming."
    )


class StreamBackend(SpecModel):
    """Which broker carries the events; exactly the block matching `type` is set."""

    model_config = ConfigDict(
        json_schema_extra=validations(
            cel(
                "self.type != 'Kafka' || (has(self.kafka) && !has(self.redis))",
                "backend.type Kafka requires backend.kafka and forbids backend.redis",
            ),
            cel(
                "self.type != 'Redis' || (has(self.redis) && !has(self.kafka))",
                "backend.type Redis requires backend.redis and forbids backend.kafka",
            ),
            cel(
                "self.type == oldSelf.type",
                "backend.type is immutable; create a new EventStream to change brokers",
                field_path=".type",
            ),
        )
    )

    type: BackendType = Field(description="Kafka or Redis; immutable.")
    kafka: KafkaBackend | None = Field(default=None, description="Set when type is Kafka.")
    redis: RedisBackend | None = Field(default=None, description="Set when type is Redis.")


class OutboxSpec(SpecModel):
    """The transactional outbox the relay drains into the stream."""

    database: SecretValue = Field(description="Secret key holding the PostgreSQL DSN.")
    batch_size: int = Field(default=500, ge=1, le=10_000, description="Rows claimed per batch.")
    poll_interval: Duration = Field(
        default="250ms", description="Polling period when LISTEN/NOTIFY is quiet."
    )
    listen_notify: bool = Field(default=True, description="Wake on LISTEN/NOTIFY, not just polls.")


class RelaySpec(SpecModel):
    """The relay Deployment (outbox → stream)."""

    replicas: int = Field(
        default=1, ge=0, le=16, description="Relays share the outbox with SKIP LOCKED."
    )
    resources: ResourceRequirements | None = Field(default=None, description="Container resources.")


class Transport(StrEnum):
    """How clients receive events from the notifier."""

    SSE = "SSE"
    WEBSOCKET = "WebSocket"


class NotifierSpec(SpecModel):
    """The notifier Deployment (stream → SSE/WebSocket clients of each tenant)."""

    replicas: int = Field(
        default=1,
        ge=0,
        le=64,
        description="Replicas while autoscaling is not set (the autoscaler owns them otherwise).",
    )
    transports: list[Transport] = Field(
        default_factory=lambda: [Transport.SSE, Transport.WEBSOCKET],
        min_length=1,
        max_length=2,
        description="Transports offered to clients.",
        json_schema_extra=list_extensions("set"),
    )
    heartbeat: Duration = Field(default="15s", description="Keep-alive period on idle streams.")
    max_connections_per_pod: int = Field(
        default=10_000, ge=1, le=100_000, description="Connections one pod accepts."
    )
    resources: ResourceRequirements | None = Field(default=None, description="Container resources.")


class WorkloadKind(StrEnum):
    """Kinds of consumer workloads the autoscaler can scale."""

    DEPLOYMENT = "Deployment"
    STATEFUL_SET = "StatefulSet"


class WorkloadReference(SpecModel):
    """A consumer workload in the same namespace."""

    kind: WorkloadKind = Field(default=WorkloadKind.DEPLOYMENT, description="Workload kind.")
    name: str = Field(
        pattern=r"^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$",
        max_length=253,
        description="Workload name.",
    )


class ConsumerSpec(SpecModel):
    """A consumer group reading the stream, and the workload that runs it."""

    group: str = Field(
        pattern=r"^[A-Za-z0-9._-]+$", min_length=1, max_length=128, description="Group id."
    )
    workload_ref: WorkloadReference | None = Field(
        default=None,
        description=(
            f"The workload to scale; omitted only for the built-in '{BUILTIN_CONSUMER_GROUP}'."
        ),
    )


class ScalingEngine(StrEnum):
    """Who scales the consumers."""

    AUTO = "Auto"
    BUILTIN = "Builtin"
    KEDA = "KEDA"


class MetricErrorPolicy(StrEnum):
    """What the autoscaler does when lag cannot be read."""

    HOLD_CURRENT = "HoldCurrent"


class AutoscalingSpec(SpecModel):
    """Lag-based scaling of every consumer group's workload."""

    model_config = ConfigDict(
        json_schema_extra=validations(
            cel(
                "self.minReplicas <= self.maxReplicas",
                "autoscaling.minReplicas must not exceed autoscaling.maxReplicas",
                field_path=".minReplicas",
            )
        )
    )

    engine: ScalingEngine = Field(
        default=ScalingEngine.AUTO,
        description="Builtin scaler, or a KEDA ScaledObject; Auto picks KEDA when it is installed.",
    )
    min_replicas: int = Field(default=1, ge=0, le=1000, description="Floor; 0 allows idling.")
    max_replicas: int = Field(default=10, ge=1, le=1000, description="Ceiling.")
    lag_per_replica: int = Field(
        default=1000, ge=1, le=100_000_000, description="Target lag each replica absorbs."
    )
    activation_lag: int = Field(
        default=0, ge=0, le=100_000_000, description="With minReplicas 0: scale 0→1 above this."
    )
    partition_cap: bool = Field(
        default=True, description="Kafka: never more consumers than partitions with lag."
    )
    poll_interval: Duration = Field(default="5s", description="How often lag is read.")
    scale_down_stabilization: Duration = Field(
        default="300s", description="Lag must stay low this long before scaling down."
    )
    on_metric_error: MetricErrorPolicy = Field(
        default=MetricErrorPolicy.HOLD_CURRENT,
        description="On a lag read error: keep the current replicas (never drop to zero).",
    )


class EventStreamSpec(SpecModel):
    """A stream of tenant events: broker, outbox relay, notifier and the consumers to scale."""

    backend: StreamBackend = Field(description="The broker and its topic or stream.")
    outbox: OutboxSpec = Field(description="The outbox table the relay publishes from.")
    relay: RelaySpec | None = Field(default=None, description="Relay Deployment settings.")
    notifier: NotifierSpec | None = Field(default=None, description="Notifier Deployment settings.")
    consumers: list[ConsumerSpec] = Field(
        default_factory=list,
        max_length=MAX_STATUS_ITEMS,
        description=(
            f"Consumer groups; '{BUILTIN_CONSUMER_GROUP}' (the notifier) is always implied."
        ),
        json_schema_extra={
            **list_extensions("map", "group"),
            **validations(
                cel(
                    f"self.all(c, c.group == '{BUILTIN_CONSUMER_GROUP}' ? "
                    "!has(c.workloadRef) : has(c.workloadRef))",
                    f"consumers: the built-in group '{BUILTIN_CONSUMER_GROUP}' takes no "
                    "workloadRef; every other group needs one",
                )
            ),
        },
    )
    autoscaling: AutoscalingSpec | None = Field(
        default=None, description="Lag-based scaling; omitted: replicas stay as written."
    )
    monitoring: MonitoringSpec | None = Field(default=None, description="Prometheus scraping.")
    deletion_policy: DeletionPolicy = Field(
        default=DeletionPolicy.RETAIN,
        description=(
            "When this EventStream is deleted: Retain keeps the topic or stream and its data; "
            "Delete deletes it, unless another EventStream still uses it. No finalizer is "
            "involved (deleting the EventStream or its namespace never waits for the operator): "
            "the cleanup is recorded in the operator's namespace and done even if the operator "
            "was down at the time."
        ),
    )
