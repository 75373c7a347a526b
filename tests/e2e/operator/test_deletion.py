"""Deletion: children go with their owners, the deletionPolicy decides about topics and streams,
and deleting a namespace never waits for the operator — not even when it is down."""

from __future__ import annotations

import copy
from typing import Any

import pytest
import redis
from aiokafka.admin import AIOKafkaAdminClient

from ragline_dev.infra.kube import Kubectl
from ragline_dev.operator_part import OPERATOR_NAMESPACE
from tests.e2e.operator.support import (
    Backends,
    OperatorProcess,
    all_ready,
    apply_samples,
    eventually,
    eventually_async,
    items,
    ready,
    resource,
    stream_name,
)

pytestmark = pytest.mark.e2e

OPERATOR_SETTINGS = {"resync_seconds": "5"}
LEDGER = "ragline-operator-cleanup"
CHILD_KINDS = "deployments,services,jobs,pods,configmaps,secrets"
# A namespace without finalizers of ours is gone in seconds; this bounds a hang.
NAMESPACE_GONE_SECONDS = 60


def ledger_uids(kube: Kubectl) -> set[str]:
    secret = resource(kube, "secret", LEDGER, OPERATOR_NAMESPACE)
    return set(((secret or {}).get("data") or {}).keys())


def stream_exists(url: str, name: str) -> bool:
    client = redis.Redis.from_url(url)
    try:
        return bool(client.exists(name))
    finally:
        client.close()


async def topic_exists(bootstrap: str, topic: str) -> bool:
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        return topic in await admin.list_topics()
    finally:
        await admin.close()


def ragline_children(kube: Kubectl, namespace: str) -> list[str]:
    """What the operator made that is still there (by the part-of label)."""
    found = items(kube, CHILD_KINDS, namespace, "app.kubernetes.io/part-of=ragline")
    samples = {"demo-menu", "ragline-postgres", "ragline-redis", "ragline-kafka", "ragline-llm"}
    return [
        f"{o['kind']}/{o['metadata']['name']}"
        for o in found
        if o["metadata"]["name"] not in samples
    ]


def delete_namespace(kube: Kubectl, namespace: str) -> None:
    kube.check("delete", "namespace", namespace, f"--timeout={NAMESPACE_GONE_SECONDS}s")
    assert kube.run("get", "namespace", namespace).returncode != 0


async def test_deletion_leaves_nothing_behind_but_what_retain_keeps(
    kube: Kubectl, namespace: str, kafka_backends: Backends, operator: OperatorProcess
) -> None:
    custom = apply_samples(kube, kafka_backends, namespace, kafka=True)
    eventually(lambda: all_ready(kube, namespace, custom), "the samples are Ready")
    uids = set()
    for document in custom:
        obj = resource(kube, document["kind"], document["metadata"]["name"], namespace)
        assert obj is not None
        assert not obj["metadata"].get("finalizers"), obj["metadata"]["finalizers"]
        uids.add(obj["metadata"]["uid"])
    streams = {d["metadata"]["uid"] for d in items(kube, "eventstreams", namespace)}
    assert streams <= ledger_uids(kube)
    assert ragline_children(kube, namespace)

    for document in reversed(custom):
        kube.check("delete", document["kind"], document["metadata"]["name"], "-n", namespace)

    eventually(lambda: not ragline_children(kube, namespace), "every child is gone")
    name = stream_name(namespace)
    bootstrap = kafka_backends.kafka_bootstrap

    # deletionPolicy Delete: the topic goes; Retain (the default): the stream and its data stay.
    async def topic_gone() -> bool:
        return not await topic_exists(bootstrap, name)

    await eventually_async(topic_gone, "the Kafka topic is deleted")
    assert stream_exists(kafka_backends.redis_url, name)
    eventually(lambda: not (streams & ledger_uids(kube)), "the ledger forgot both EventStreams")

    delete_namespace(kube, namespace)


async def test_namespace_deletion_never_waits_for_a_stopped_operator_and_cleanup_catches_up(
    kube: Kubectl, namespace: str, backends: Backends, operator: OperatorProcess
) -> None:
    custom = apply_samples(kube, backends, namespace)
    stream: dict[str, Any] = copy.deepcopy(next(d for d in custom if d["kind"] == "EventStream"))
    stream["spec"]["deletionPolicy"] = "Delete"
    kube.apply(stream, namespace=namespace)
    eventually(lambda: ready(kube, "eventstream", "orders", namespace), "the EventStream is Ready")
    name = stream_name(namespace)
    assert stream_exists(backends.redis_url, name)
    obj = resource(kube, "eventstream", "orders", namespace)
    assert obj is not None
    uid = obj["metadata"]["uid"]
    assert uid in ledger_uids(kube)

    operator.stop()
    try:
        delete_namespace(kube, namespace)
        assert stream_exists(backends.redis_url, name)  # nobody was there to delete it
    finally:
        operator.start()

    eventually(lambda: not stream_exists(backends.redis_url, name), "the stream is deleted")
    eventually(lambda: uid not in ledger_uids(kube), "the ledger forgot the EventStream")
