"""KEDA children of an EventStream: one ScaledObject per scaled consumer group.

Used when the scaling engine is KEDA (asked for, or picked by ``Auto`` because KEDA is installed).
Each consumer group that names a workload gets a ScaledObject targeting that workload, with the
spec's bounds, poll interval and scale-down stabilization, and a ``kafka`` or ``redis-streams``
trigger on the group's lag. KEDA then owns the workload's ``replicas`` (through the HPA it
manages); the builtin scaler leaves those groups alone.

Credentials: Kafka has none in the EventStream spec (plaintext bootstrap servers). A Redis URL may
carry a username and password; they go into a Secret of the operator's (KEDA's trigger wants each
value under a key of its own, not a URL) and a TriggerAuthentication that points the trigger at it.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote, urlsplit

from ragline_operator.models import BackendType, EventStreamSpec
from ragline_operator.models.base import parse_duration
from ragline_operator.resources.common import (
    LABEL_COMPONENT,
    LABEL_INSTANCE,
    LABEL_OWNER_KIND,
    Manifest,
    OwnerRef,
    child_name,
    object_meta,
    short_hash,
)
from ragline_operator.resources.eventstream import NOTIFIER_GROUP
from ragline_operator.scaling.engine import KEDA_GROUP_VERSION

SCALED_OBJECT = "ScaledObject"
TRIGGER_AUTHENTICATION = "TriggerAuthentication"
COMPONENT = "scaler"
# KEDA labels its HPA with the ScaledObject's name, and a label value is at most 63 characters.
MAX_NAME = 63
# The HPA refuses scale-down stabilization windows above one hour.
MAX_STABILIZATION_S = 3600
# The builtin lag reader counts a Kafka partition the group never committed from its start.
KAFKA_OFFSET_RESET = "earliest"
REDIS_DEFAULT_PORT = 6379


@dataclass(frozen=True)
class KedaContext:
    """What the KEDA children are built from."""

    owner: OwnerRef
    namespace: str
    spec: EventStreamSpec
    address: str  # the decoded broker address: Kafka bootstrap servers, or the Redis URL


@dataclass(frozen=True)
class RedisAddress:
    """A ``redis://`` or ``rediss://`` URL taken apart the way KEDA's trigger wants it."""

    address: str
    database: int
    tls: bool
    username: str | None
    password: str | None


def parse_redis_url(url: str) -> RedisAddress:
    """Split a Redis URL into ``host:port``, database index, TLS and credentials."""
    parts = urlsplit(url)
    host = parts.hostname or "localhost"
    if ":" in host:  # an IPv6 literal goes back into brackets
        host = f"[{host}]"
    database = parts.path.strip("/")
    return RedisAddress(
        address=f"{host}:{parts.port or REDIS_DEFAULT_PORT}",
        database=int(database) if database.isdigit() else 0,
        tls=parts.scheme == "rediss",
        username=unquote(parts.username) if parts.username else None,
        password=unquote(parts.password) if parts.password else None,
    )


def scaled_object_name(owner: OwnerRef, workload: str) -> str:
    """``<owner>-<workload>``, shortened with a hash when it would not fit a label value."""
    name = f"{owner.name}-{workload}"
    if len(name) <= MAX_NAME:
        return name
    return f"{name[: MAX_NAME - 9].rstrip('-.')}-{short_hash(name)}"


def scaler_selector(owner: OwnerRef) -> dict[str, str]:
    """The labels every KEDA child of ``owner`` carries (to find and prune them)."""
    return {
        LABEL_INSTANCE: owner.name,
        LABEL_COMPONENT: COMPONENT,
        LABEL_OWNER_KIND: owner.kind.lower(),
    }


def credentials_name(owner: OwnerRef) -> str:
    """The Secret and TriggerAuthentication holding the Redis credentials."""
    return child_name(owner, "keda-auth")


def _meta(ctx: KedaContext, name: str) -> dict[str, Any]:
    return object_meta(name=name, namespace=ctx.namespace, owner=ctx.owner, component=COMPONENT)


def _redis(ctx: KedaContext) -> RedisAddress | None:
    if ctx.spec.backend.type is BackendType.REDIS:
        return parse_redis_url(ctx.address)
    return None


def build_keda_credentials(ctx: KedaContext) -> list[Manifest]:
    """The Secret and TriggerAuthentication for a Redis URL with credentials; else nothing."""
    redis = _redis(ctx)
    if redis is None or (redis.username is None and redis.password is None):
        return []
    values = {"username": redis.username, "password": redis.password}
    present = {key: value for key, value in values.items() if value is not None}
    name = credentials_name(ctx.owner)
    secret = {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": _meta(ctx, name),
        "type": "Opaque",
        "data": {k: base64.b64encode(v.encode()).decode() for k, v in sorted(present.items())},
    }
    authentication = {
        "apiVersion": KEDA_GROUP_VERSION,
        "kind": TRIGGER_AUTHENTICATION,
        "metadata": _meta(ctx, name),
        "spec": {
            "secretTargetRef": [
                {"parameter": key, "name": name, "key": key} for key in sorted(present)
            ]
        },
    }
    return [secret, authentication]


def _trigger(ctx: KedaContext, group: str) -> dict[str, Any]:
    autoscaling = ctx.spec.autoscaling
    assert autoscaling is not None  # callers build ScaledObjects only for autoscaled streams
    backend = ctx.spec.backend
    if backend.type is BackendType.KAFKA and backend.kafka is not None:
        metadata = {
            "bootstrapServers": ctx.address,
            "consumerGroup": group,
            "topic": backend.kafka.topic,
            "lagThreshold": str(autoscaling.lag_per_replica),
            "activationLagThreshold": str(autoscaling.activation_lag),
            "offsetResetPolicy": KAFKA_OFFSET_RESET,
        }
        # partitionCap: never more consumers than partitions with lag; off: no partition cap at
        # all, which KEDA calls allowing idle consumers.
        if autoscaling.partition_cap:
            metadata["limitToPartitionsWithLag"] = "true"
        else:
            metadata["allowIdleConsumers"] = "true"
        return {"type": "kafka", "metadata": metadata}
    redis = _redis(ctx)
    if redis is None or backend.redis is None:  # unreachable past the CRD's CEL rules
        raise ValueError("the backend block matching spec.backend.type is missing")
    trigger: dict[str, Any] = {
        "type": "redis-streams",
        "metadata": {
            "address": redis.address,
            "stream": backend.redis.stream,
            "consumerGroup": group,
            "lagCount": str(autoscaling.lag_per_replica),
            "activationLagCount": str(autoscaling.activation_lag),
            "databaseIndex": str(redis.database),
            "enableTLS": "true" if redis.tls else "false",
        },
    }
    if build_keda_credentials(ctx):
        trigger["authenticationRef"] = {"name": credentials_name(ctx.owner)}
    return trigger


def build_scaled_objects(ctx: KedaContext) -> list[Manifest]:
    """One ScaledObject per consumer group with a workload (the notifier's group excluded)."""
    autoscaling = ctx.spec.autoscaling
    if autoscaling is None:
        return []
    poll_s = max(1, round(parse_duration(autoscaling.poll_interval).total_seconds()))
    stabilization_s = min(
        MAX_STABILIZATION_S,
        round(parse_duration(autoscaling.scale_down_stabilization).total_seconds()),
    )
    manifests = []
    for consumer in ctx.spec.consumers:
        workload = consumer.workload_ref
        if consumer.group == NOTIFIER_GROUP or workload is None:  # not scaled by lag (targets)
            continue
        meta = _meta(ctx, scaled_object_name(ctx.owner, workload.name))
        meta["labels"] = {**meta["labels"], **scaler_selector(ctx.owner)}
        manifests.append(
            {
                "apiVersion": KEDA_GROUP_VERSION,
                "kind": SCALED_OBJECT,
                "metadata": meta,
                "spec": {
                    "scaleTargetRef": {
                        "apiVersion": "apps/v1",
                        "kind": workload.kind.value,
                        "name": workload.name,
                    },
                    "pollingInterval": poll_s,
                    # KEDA's cooldown applies to the last step down to zero; the HPA's window to
                    # every other step down: both wait as long as the spec's stabilization.
                    "cooldownPeriod": stabilization_s,
                    "minReplicaCount": autoscaling.min_replicas,
                    "maxReplicaCount": autoscaling.max_replicas,
                    "advanced": {
                        "horizontalPodAutoscalerConfig": {
                            "behavior": {
                                "scaleDown": {"stabilizationWindowSeconds": stabilization_s}
                            }
                        }
                    },
                    "triggers": [_trigger(ctx, consumer.group)],
                },
            }
        )
    return manifests
