"""EventStream children: relay and notifier Deployments, their Services."""

from __future__ import annotations

from typing import Any

from ragline_operator.models import EventStreamSpec
from ragline_operator.resources.common import OwnerRef, TenantKeyMount, WorkloadImage
from ragline_operator.resources.eventstream import (
    EventStreamContext,
    build_notifier_deployment,
    build_notifier_service,
    build_relay_deployment,
    build_relay_metrics_service,
)
from tests.unit.operator.resources.helpers import container, env_map, pod_spec
from tests.unit.operator.samples import NAMESPACE, kafka_stream_spec, redis_stream_spec

OWNER = OwnerRef(kind="EventStream", name="orders", uid="uid-es")


def context(spec: dict[str, Any], **extra: Any) -> EventStreamContext:
    return EventStreamContext(
        owner=OWNER,
        namespace=NAMESPACE,
        spec=EventStreamSpec.model_validate(spec),
        image=WorkloadImage("example.test/ragline:1.0"),
        relay_checksum="relay-sum",
        notifier_checksum="notifier-sum",
        **extra,
    )


def test_relay_reads_the_outbox_and_redis_from_secrets() -> None:
    deployment = build_relay_deployment(context(redis_stream_spec()))
    env = env_map(container(deployment))

    assert deployment["metadata"]["name"] == "orders-relay"
    assert env["RAGLINE_RELAY_DATABASE_URL"] == {"secretKeyRef": {"name": "pg", "key": "dsn"}}
    assert env["RAGLINE_RELAY_REDIS_URL"] == {"secretKeyRef": {"name": "redis", "key": "url"}}
    assert env["RAGLINE_RELAY_BACKEND"] == "redis"
    assert env["RAGLINE_RELAY_REDIS_STREAM"] == "orders"
    assert env["RAGLINE_RELAY_POLL_INTERVAL_SECONDS"] == "0.25"
    assert env["RAGLINE_RELAY_LISTEN_NOTIFY"] == "true"
    assert "RAGLINE_RELAY_KAFKA_TOPIC" not in env
    assert env["RAGLINE_RELAY_HOST"] == "0.0.0.0"
    assert env["RAGLINE_RELAY_PORT"] == "8080"


def test_kafka_backend_wires_bootstrap_servers_and_topic() -> None:
    deployment = build_notifier_deployment(context(kafka_stream_spec()))
    env = env_map(container(deployment))

    assert env["RAGLINE_NOTIFIER_KAFKA_BOOTSTRAP_SERVERS"] == {
        "secretKeyRef": {"name": "kafka", "key": "bootstrap"}
    }
    assert env["RAGLINE_NOTIFIER_KAFKA_TOPIC"] == "orders"
    assert env["RAGLINE_NOTIFIER_CONSUMER_GROUP"] == "notifier"
    assert "RAGLINE_NOTIFIER_REDIS_URL" not in env


def test_notifier_settings_and_replicas_come_from_the_spec() -> None:
    deployment = build_notifier_deployment(context(redis_stream_spec()))
    env = env_map(container(deployment))

    assert deployment["spec"]["replicas"] == 2
    assert env["RAGLINE_NOTIFIER_TRANSPORTS"] == '["SSE", "WebSocket"]'
    assert env["RAGLINE_NOTIFIER_HEARTBEAT_SECONDS"] == "15.0"
    assert env["RAGLINE_NOTIFIER_MAX_CONNECTIONS"] == "10000"


def test_with_autoscaling_the_operator_leaves_replicas_to_the_scaler() -> None:
    spec = redis_stream_spec(autoscaling={"minReplicas": 1, "maxReplicas": 5})
    deployment = build_notifier_deployment(context(spec))

    assert "replicas" not in deployment["spec"]
    # The relay is not a scaled consumer: its replicas stay the operator's.
    assert build_relay_deployment(context(spec))["spec"]["replicas"] == 1


def test_pods_are_hardened_and_scraped() -> None:
    deployment = build_relay_deployment(context(redis_stream_spec()))
    pod = pod_spec(deployment)
    main = container(deployment)
    annotations = deployment["spec"]["template"]["metadata"]["annotations"]

    assert pod["securityContext"]["runAsNonRoot"] is True
    assert pod["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}
    assert pod["automountServiceAccountToken"] is False
    assert main["securityContext"]["readOnlyRootFilesystem"] is True
    assert main["securityContext"]["allowPrivilegeEscalation"] is False
    assert main["securityContext"]["capabilities"] == {"drop": ["ALL"]}
    assert annotations["prometheus.io/scrape"] == "true"
    assert annotations["prometheus.io/port"] == "8080"
    assert annotations["ragline.dev/secrets-checksum"] == "relay-sum"


def test_a_different_secret_checksum_changes_only_the_pod_template_annotation() -> None:
    spec = redis_stream_spec()
    before = build_relay_deployment(context(spec))
    after = build_relay_deployment(
        EventStreamContext(
            owner=OWNER,
            namespace=NAMESPACE,
            spec=EventStreamSpec.model_validate(spec),
            image=WorkloadImage("example.test/ragline:1.0"),
            relay_checksum="rotated",
        )
    )
    assert before["spec"]["template"]["spec"] == after["spec"]["template"]["spec"]
    assert before["spec"]["template"]["metadata"] != after["spec"]["template"]["metadata"]


def test_children_are_owned_and_labelled() -> None:
    deployment = build_notifier_deployment(context(redis_stream_spec()))
    meta = deployment["metadata"]

    assert meta["ownerReferences"] == [
        {
            "apiVersion": "ragline.dev/v1alpha1",
            "kind": "EventStream",
            "name": "orders",
            "uid": "uid-es",
            "controller": True,
            "blockOwnerDeletion": True,
        }
    ]
    assert meta["labels"]["app.kubernetes.io/managed-by"] == "ragline-operator"
    assert deployment["spec"]["selector"]["matchLabels"] == {
        "app.kubernetes.io/name": "ragline-notifier",
        "app.kubernetes.io/instance": "orders",
    }


def test_notifier_mounts_the_registry_and_each_tenants_keys() -> None:
    keys = (TenantKeyMount("zeta", "zeta-signing-key"), TenantKeyMount("acme", "acme-signing-key"))
    deployment = build_notifier_deployment(context(redis_stream_spec(), tenant_keys=keys))
    mounts = {m["mountPath"]: m["name"] for m in container(deployment)["volumeMounts"]}
    volumes = {v["name"]: v for v in pod_spec(deployment)["volumes"]}
    env = env_map(container(deployment))

    assert env["RAGLINE_NOTIFIER_REGISTRY_PATH"] == "/etc/ragline/registry/tenants.json"
    assert env["RAGLINE_NOTIFIER_KEYS_DIR"] == "/etc/ragline/keys"
    assert volumes[mounts["/etc/ragline/registry"]]["configMap"] == {
        "name": "ragline-tenants",
        "optional": True,
    }
    acme = volumes[mounts["/etc/ragline/keys/acme"]]["secret"]
    assert acme == {"secretName": "acme-signing-key", "optional": True}
    assert "/etc/ragline/keys/zeta" in mounts


def test_services_select_their_pods_on_the_http_port() -> None:
    ctx = context(redis_stream_spec())
    notifier = build_notifier_service(ctx)
    relay = build_relay_metrics_service(ctx)

    assert notifier["metadata"]["name"] == "orders-notifier"
    assert notifier["spec"]["selector"]["app.kubernetes.io/name"] == "ragline-notifier"
    assert notifier["spec"]["ports"][0]["port"] == 8080
    assert relay["spec"]["clusterIP"] == "None"
    assert relay["spec"]["selector"]["app.kubernetes.io/name"] == "ragline-relay"


def test_building_is_deterministic() -> None:
    ctx = context(redis_stream_spec())
    assert build_notifier_deployment(ctx) == build_notifier_deployment(ctx)
