"""KEDA builders (snapshots) and the engine choice: one writer of replicas at a time."""

from __future__ import annotations

import base64
from typing import Any

import pytest

from ragline_operator.models import EventStreamSpec
from ragline_operator.models.eventstream import ScalingEngine
from ragline_operator.resources.common import OwnerRef
from ragline_operator.resources.keda import (
    KedaContext,
    build_keda_credentials,
    build_scaled_objects,
    parse_redis_url,
    scaled_object_name,
)
from ragline_operator.scaling.engine import effective_engine
from ragline_operator.scaling.scaler import Scaler
from tests.unit.operator.samples import body, kafka_stream_spec, redis_stream_spec

OWNER = OwnerRef(kind="EventStream", name="orders", uid="uid-1")
CONSUMERS = [
    {"group": "notifier"},
    {"group": "billing", "workloadRef": {"name": "billing-worker"}},
    {"group": "Audit_v2", "workloadRef": {"kind": "StatefulSet", "name": "audit"}},
]
AUTOSCALING = {
    "engine": "KEDA",
    "minReplicas": 0,
    "maxReplicas": 8,
    "lagPerReplica": 250,
    "activationLag": 5,
    "pollInterval": "2s",
    "scaleDownStabilization": "2m",
}


def context(spec: dict[str, Any], address: str) -> KedaContext:
    return KedaContext(
        owner=OWNER, namespace="shop", spec=EventStreamSpec.model_validate(spec), address=address
    )


@pytest.mark.parametrize(
    ("requested", "served", "expected"),
    [
        (ScalingEngine.AUTO, True, ScalingEngine.KEDA),
        (ScalingEngine.AUTO, False, ScalingEngine.BUILTIN),
        (ScalingEngine.KEDA, True, ScalingEngine.KEDA),
        (ScalingEngine.KEDA, False, None),
        (ScalingEngine.BUILTIN, True, ScalingEngine.BUILTIN),
    ],
)
def test_the_engine_that_writes_replicas(
    requested: ScalingEngine, served: bool, expected: ScalingEngine | None
) -> None:
    assert effective_engine(requested, keda_served=served) is expected


def test_kafka_scaled_object_per_consumer_with_a_workload() -> None:
    spec = kafka_stream_spec(consumers=CONSUMERS, autoscaling=AUTOSCALING)
    billing, audit = build_scaled_objects(context(spec, "kafka-0:9092,kafka-1:9092"))

    assert billing["apiVersion"] == "keda.sh/v1alpha1"
    assert billing["kind"] == "ScaledObject"
    assert billing["metadata"]["name"] == "orders-billing-worker"
    assert billing["metadata"]["namespace"] == "shop"
    (owner,) = billing["metadata"]["ownerReferences"]
    assert (owner["kind"], owner["uid"], owner["controller"]) == ("EventStream", "uid-1", True)
    assert billing["spec"] == {
        "scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "billing-worker"},
        "pollingInterval": 2,
        "cooldownPeriod": 120,
        "minReplicaCount": 0,
        "maxReplicaCount": 8,
        "advanced": {
            "horizontalPodAutoscalerConfig": {
                "behavior": {"scaleDown": {"stabilizationWindowSeconds": 120}}
            }
        },
        "triggers": [
            {
                "type": "kafka",
                "metadata": {
                    "bootstrapServers": "kafka-0:9092,kafka-1:9092",
                    "consumerGroup": "billing",
                    "topic": "orders",
                    "lagThreshold": "250",
                    "activationLagThreshold": "5",
                    "offsetResetPolicy": "earliest",
                    "limitToPartitionsWithLag": "true",
                },
            }
        ],
    }
    assert audit["spec"]["scaleTargetRef"]["kind"] == "StatefulSet"
    assert audit["spec"]["triggers"][0]["metadata"]["consumerGroup"] == "Audit_v2"


def test_kafka_without_partition_cap_allows_idle_consumers() -> None:
    spec = kafka_stream_spec(
        consumers=CONSUMERS[:2], autoscaling={**AUTOSCALING, "partitionCap": False}
    )
    (scaled,) = build_scaled_objects(context(spec, "kafka:9092"))
    metadata = scaled["spec"]["triggers"][0]["metadata"]
    assert metadata["allowIdleConsumers"] == "true"
    assert "limitToPartitionsWithLag" not in metadata


def test_redis_trigger_without_credentials_needs_no_authentication() -> None:
    spec = redis_stream_spec(consumers=CONSUMERS[:2], autoscaling=AUTOSCALING)
    ctx = context(spec, "redis://valkey.shop.svc:6380/2")
    (scaled,) = build_scaled_objects(ctx)
    assert scaled["spec"]["triggers"] == [
        {
            "type": "redis-streams",
            "metadata": {
                "address": "valkey.shop.svc:6380",
                "stream": "orders",
                "consumerGroup": "billing",
                "lagCount": "250",
                "activationLagCount": "5",
                "databaseIndex": "2",
                "enableTLS": "false",
            },
        }
    ]
    assert build_keda_credentials(ctx) == []


def test_redis_credentials_go_through_a_secret_and_trigger_authentication() -> None:
    spec = redis_stream_spec(consumers=CONSUMERS[:2], autoscaling=AUTOSCALING)
    ctx = context(spec, "rediss://app:p%40ss@valkey:6379")
    secret, authentication = build_keda_credentials(ctx)
    (scaled,) = build_scaled_objects(ctx)

    assert secret["kind"] == "Secret"
    assert secret["metadata"]["name"] == "orders-keda-auth"
    assert secret["metadata"]["ownerReferences"][0]["uid"] == "uid-1"
    decoded = {k: base64.b64decode(v).decode() for k, v in secret["data"].items()}
    assert decoded == {"username": "app", "password": "p@ss"}
    assert authentication["kind"] == "TriggerAuthentication"
    assert authentication["spec"]["secretTargetRef"] == [
        {"parameter": "password", "name": "orders-keda-auth", "key": "password"},
        {"parameter": "username", "name": "orders-keda-auth", "key": "username"},
    ]
    (trigger,) = scaled["spec"]["triggers"]
    assert trigger["authenticationRef"] == {"name": "orders-keda-auth"}
    assert trigger["metadata"]["enableTLS"] == "true"
    # The password never appears in the ScaledObject itself.
    assert "p@ss" not in str(scaled)


def test_stabilization_is_capped_at_the_hpa_limit() -> None:
    spec = kafka_stream_spec(
        consumers=CONSUMERS[:2], autoscaling={**AUTOSCALING, "scaleDownStabilization": "3h"}
    )
    (scaled,) = build_scaled_objects(context(spec, "kafka:9092"))
    behavior = scaled["spec"]["advanced"]["horizontalPodAutoscalerConfig"]["behavior"]
    assert behavior["scaleDown"]["stabilizationWindowSeconds"] == 3600


def test_long_names_fit_a_label_value_and_stay_distinct() -> None:
    first = scaled_object_name(OWNER, "w" * 80)
    second = scaled_object_name(OWNER, "w" * 79 + "x")
    assert len(first) <= 63
    assert len(second) <= 63
    assert first != second


def test_redis_url_without_port_or_database() -> None:
    parsed = parse_redis_url("redis://:secret@[::1]")
    assert (parsed.address, parsed.database, parsed.tls) == ("[::1]:6379", 0, False)
    assert (parsed.username, parsed.password) == (None, "secret")


async def test_the_builtin_scaler_leaves_auto_alone_where_keda_is_installed() -> None:
    async def no_reader(*_: Any) -> Any:
        raise AssertionError("the builtin scaler must not read lag for a KEDA-scaled stream")

    def no_client() -> Any:
        raise AssertionError("the builtin scaler must not touch the API for it")

    async def served(_now: float) -> bool:
        return True

    scaler = Scaler(client=no_client, reader_for=no_reader, keda_served=served)
    auto = body(
        "EventStream",
        "orders",
        redis_stream_spec(consumers=CONSUMERS[:2], autoscaling={"engine": "Auto"}),
    )
    keda = body(
        "EventStream",
        "other",
        redis_stream_spec(consumers=CONSUMERS[:2], autoscaling={"engine": "KEDA"}),
    )
    assert await scaler.tick([auto, keda], now=0.0) == 0
    assert scaler.reports == {}
