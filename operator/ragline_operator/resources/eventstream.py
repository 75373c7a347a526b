"""Children of an EventStream: the relay and notifier Deployments and their Services."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ragline_operator.models import (
    BackendType,
    EventStreamSpec,
    NotifierSpec,
    RelaySpec,
)
from ragline_operator.models.base import SecretKeySelector, parse_duration
from ragline_operator.resources.common import (
    Manifest,
    OwnerRef,
    PodParts,
    TenantKeyMount,
    WorkloadImage,
    json_env,
    plain_env,
    secret_env,
    tenant_auth_env,
    tenant_key_volumes,
)
from ragline_operator.resources.env import COMMANDS, Service, env_name
from ragline_operator.resources.workloads import deployment, service, service_url

RELAY = "relay"
NOTIFIER = "notifier"
NOTIFIER_GROUP = "notifier"


@dataclass(frozen=True)
class EventStreamContext:
    """Everything the EventStream's children are built from."""

    owner: OwnerRef
    namespace: str
    spec: EventStreamSpec
    image: WorkloadImage
    relay_checksum: str = ""
    notifier_checksum: str = ""
    tenant_keys: tuple[TenantKeyMount, ...] = field(default=())

    @property
    def relay(self) -> RelaySpec:
        """Relay settings, defaults filled."""
        return self.spec.relay or RelaySpec()

    @property
    def notifier(self) -> NotifierSpec:
        """Notifier settings, defaults filled."""
        return self.spec.notifier or NotifierSpec()


def relay_secret_refs(spec: EventStreamSpec) -> list[SecretKeySelector]:
    """Secrets the relay reads: the outbox database and the broker."""
    return [spec.outbox.database.secret_key_ref, *broker_secret_refs(spec)]


def broker_secret_refs(spec: EventStreamSpec) -> list[SecretKeySelector]:
    """Secrets the notifier reads: the broker's address."""
    backend = spec.backend
    if backend.type is BackendType.KAFKA and backend.kafka is not None:
        return [backend.kafka.bootstrap_servers.secret_key_ref]
    if backend.redis is not None:
        return [backend.redis.url.secret_key_ref]
    return []


def _backend_env(service_: Service, spec: EventStreamSpec) -> list[dict[str, Any]]:
    backend = spec.backend
    env: list[dict[str, Any]] = [plain_env(service_, "backend", backend.type.value.lower())]
    if backend.type is BackendType.KAFKA and backend.kafka is not None:
        env.append(
            secret_env(
                env_name(service_, "kafka_bootstrap_servers"),
                backend.kafka.bootstrap_servers.secret_key_ref,
            )
        )
        env.append(plain_env(service_, "kafka_topic", backend.kafka.topic))
    elif backend.redis is not None:
        env.append(secret_env(env_name(service_, "redis_url"), backend.redis.url.secret_key_ref))
        env.append(plain_env(service_, "redis_stream", backend.redis.stream))
    return env


def build_relay_deployment(ctx: EventStreamContext) -> Manifest:
    """The relay: claims outbox rows in batches and publishes them to the stream."""
    spec = ctx.spec
    svc = Service.RELAY
    env = [
        secret_env(env_name(svc, "database_url"), spec.outbox.database.secret_key_ref),
        *_backend_env(svc, spec),
        plain_env(svc, "batch_size", spec.outbox.batch_size),
        plain_env(
            svc, "poll_interval_seconds", parse_duration(spec.outbox.poll_interval).total_seconds()
        ),
        plain_env(svc, "listen_notify", spec.outbox.listen_notify),
    ]
    if spec.backend.redis is not None and spec.backend.type is BackendType.REDIS:
        env.append(plain_env(svc, "redis_max_len", spec.backend.redis.max_len))
    parts = PodParts(
        service=svc,
        component=RELAY,
        owner=ctx.owner,
        namespace=ctx.namespace,
        image=ctx.image,
        command=COMMANDS["relay"],
        env=env,
        secrets_checksum=ctx.relay_checksum,
        resources=ctx.relay.resources,
    )
    return deployment(parts, replicas=ctx.relay.replicas)


def build_notifier_deployment(ctx: EventStreamContext) -> Manifest:
    """The notifier: reads the stream in its consumer group, fans out to tenants' clients.

    With ``spec.autoscaling`` set the manifest carries no ``replicas``: the autoscaler owns that
    field (one writer per field), and server-side apply leaves it alone.
    """
    notifier = ctx.notifier
    svc = Service.NOTIFIER
    volumes, mounts = tenant_key_volumes(ctx.tenant_keys)
    env = [
        *_backend_env(svc, ctx.spec),
        plain_env(svc, "consumer_group", NOTIFIER_GROUP),
        json_env(svc, "transports", [t.value for t in notifier.transports]),
        plain_env(svc, "heartbeat_seconds", parse_duration(notifier.heartbeat).total_seconds()),
        plain_env(svc, "max_connections", notifier.max_connections_per_pod),
        *tenant_auth_env(svc),
    ]
    parts = PodParts(
        service=svc,
        component=NOTIFIER,
        owner=ctx.owner,
        namespace=ctx.namespace,
        image=ctx.image,
        command=COMMANDS["notifier"],
        env=env,
        secrets_checksum=ctx.notifier_checksum,
        resources=notifier.resources,
        volumes=volumes,
        mounts=mounts,
    )
    replicas = None if ctx.spec.autoscaling is not None else notifier.replicas
    return deployment(parts, replicas=replicas)


def build_notifier_service(ctx: EventStreamContext) -> Manifest:
    """The notifier's Service: clients' SSE/WebSocket endpoint and /metrics."""
    return service(ctx.owner, namespace=ctx.namespace, component=NOTIFIER)


def build_relay_metrics_service(ctx: EventStreamContext) -> Manifest:
    """A headless Service so a ServiceMonitor can scrape the relay, which has no clients."""
    return service(ctx.owner, namespace=ctx.namespace, component=RELAY, headless=True)


def notifier_url(ctx: EventStreamContext) -> str:
    """The notifier's in-cluster URL."""
    return service_url(ctx.owner, namespace=ctx.namespace, component=NOTIFIER)
