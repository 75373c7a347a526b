"""Lag scales the consumer Deployments of an EventStream, on the real control plane.

The scaler is driven tick by tick (the operator runs the same ticks in a loop), so the tests say
exactly which poll does what; the brokers, the API server and the Deployments are all real.
"""

import contextlib
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import redis.asyncio as redis
from aiokafka import AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient, NewTopic

from ragline_dev.infra import Stack
from ragline_dev.infra.kube import Kubectl
from ragline_dev.infra.valkey import Valkey
from ragline_operator.scaling.scaler import Scaler
from tests.e2e.scaling.conftest import consumer_deployment, eventstream, replicas, secret

pytestmark = [pytest.mark.e2e, pytest.mark.usefixtures("crds_installed")]

Body = Callable[[str], dict[str, Any]]


def redis_backend(stream: str) -> dict[str, Any]:
    return {
        "type": "Redis",
        "redis": {"url": {"secretKeyRef": {"name": "broker", "key": "url"}}, "stream": stream},
    }


async def fill(url: str, stream: str, count: int) -> None:
    client = redis.from_url(url)
    try:
        with contextlib.suppress(redis.ResponseError):  # BUSYGROUP: created by an earlier fill
            await client.xgroup_create(stream, "billing", id="0", mkstream=True)
        pipe = client.pipeline(transaction=False)
        for n in range(count):
            pipe.xadd(stream, {"n": str(n)})
        await pipe.execute()
    finally:
        await client.aclose()


async def drain(url: str, stream: str) -> None:
    client = redis.from_url(url, decode_responses=True)
    try:
        while True:
            # redis-py types stream replies loosely; the shape is [[stream, [(id, fields)]]].
            batch: Any = await client.xreadgroup("billing", "c", {stream: ">"}, count=500)
            if not batch:
                break
            await client.xack(stream, "billing", *[entry_id for entry_id, _ in batch[0][1]])
    finally:
        await client.aclose()


async def test_backlog_scales_up_at_once_and_down_after_the_window(
    kube: Kubectl, namespace: str, redis_url: str, scaler: Scaler, body: Body
) -> None:
    stream = f"orders-{uuid.uuid4().hex[:8]}"
    kube.apply(
        secret("broker", url=redis_url), consumer_deployment("orders-billing"), namespace=namespace
    )
    kube.apply(
        eventstream(
            "orders",
            redis_backend(stream),
            worker="orders-billing",
            minReplicas=1,
            maxReplicas=5,
            lagPerReplica=10,
            scaleDownStabilization="4s",
        ),
        namespace=namespace,
    )
    await fill(redis_url, stream, 35)

    assert await scaler.tick([body("orders")], now=0.0) == 1
    assert replicas(kube, namespace, "orders-billing") == 4
    status = body("orders")["status"]
    (billing,) = status["consumers"]
    assert billing["group"] == "billing"
    assert billing["lag"] == 35
    assert billing["desiredReplicas"] == 4
    assert "lastScaleTime" in billing
    events = kube.json("get", "events", "-n", namespace, "--field-selector", "reason=Scaled")[
        "items"
    ]
    assert any("Deployment orders-billing 1 → 4 replicas" in e["message"] for e in events)

    await drain(redis_url, stream)
    # Polls inside the stabilization window hold the replicas.
    for now in (1.0, 2.0, 3.0):
        await scaler.tick([body("orders")], now=now)
        assert replicas(kube, namespace, "orders-billing") == 4
    assert body("orders")["status"]["consumers"][0]["capReason"] == "ScaleDownStabilization"
    # Past the window the replicas step down as the decaying lag allows, never up again.
    seen = []
    for now in range(5, 15):
        await scaler.tick([body("orders")], now=float(now))
        seen.append(replicas(kube, namespace, "orders-billing"))
    assert seen == sorted(seen, reverse=True)
    assert seen[0] < 4
    assert seen[-1] == 1
    assert body("orders")["status"]["lag"] == 0


async def test_a_statefulset_consumer_is_scaled_too(
    kube: Kubectl, namespace: str, redis_url: str, scaler: Scaler, body: Body
) -> None:
    stream = f"ledger-{uuid.uuid4().hex[:8]}"
    kube.apply(
        secret("broker", url=redis_url),
        consumer_deployment("ledger-billing", kind="StatefulSet"),
        namespace=namespace,
    )
    kube.apply(
        eventstream(
            "ledger",
            redis_backend(stream),
            worker="ledger-billing",
            worker_kind="StatefulSet",
            minReplicas=1,
            maxReplicas=4,
            lagPerReplica=10,
        ),
        namespace=namespace,
    )
    await fill(redis_url, stream, 25)

    assert await scaler.tick([body("ledger")], now=0.0) == 1
    assert replicas(kube, namespace, "ledger-billing", kind="statefulset") == 3
    (billing,) = body("ledger")["status"]["consumers"]
    assert (billing["lag"], billing["replicas"], billing["desiredReplicas"]) == (25, 1, 3)


async def test_a_stopped_broker_holds_the_replicas(
    kube: Kubectl, namespace: str, scaler: Scaler, body: Body, tmp_path: Path
) -> None:
    broker = Stack(root=tmp_path, parts=[Valkey(durable=False)])
    url = broker.up()["valkey"].endpoints["url"]
    try:
        stream = "orders"
        kube.apply(
            secret("broker", url=url), consumer_deployment("orders-billing"), namespace=namespace
        )
        kube.apply(
            eventstream(
                "orders",
                redis_backend(stream),
                worker="orders-billing",
                minReplicas=0,
                maxReplicas=5,
                lagPerReplica=10,
            ),
            namespace=namespace,
        )
        await fill(url, stream, 30)
        await scaler.tick([body("orders")], now=0.0)
        assert replicas(kube, namespace, "orders-billing") == 3
    finally:
        broker.close()

    for now in (1.0, 2.0, 400.0):  # even long after any window: never to zero on an error
        await scaler.tick([body("orders")], now=now)
        assert replicas(kube, namespace, "orders-billing") == 3
    (billing,) = body("orders")["status"]["consumers"]
    assert billing["capReason"] == "MetricError"
    assert "lag" not in billing


async def test_scale_to_zero_and_back_with_min_zero(
    kube: Kubectl, namespace: str, redis_url: str, scaler: Scaler, body: Body
) -> None:
    stream = f"idle-{uuid.uuid4().hex[:8]}"
    kube.apply(
        secret("broker", url=redis_url), consumer_deployment("idle-billing"), namespace=namespace
    )
    kube.apply(
        eventstream(
            "idle",
            redis_backend(stream),
            worker="idle-billing",
            minReplicas=0,
            maxReplicas=3,
            lagPerReplica=100,
            activationLag=5,
            scaleDownStabilization="2s",
        ),
        namespace=namespace,
    )
    await fill(redis_url, stream, 0)
    await scaler.tick([body("idle")], now=0.0)
    await scaler.tick([body("idle")], now=3.0)
    assert replicas(kube, namespace, "idle-billing") == 0

    await fill(redis_url, stream, 6)
    await scaler.tick([body("idle")], now=4.0)
    assert replicas(kube, namespace, "idle-billing") == 1


async def test_kafka_partition_cap_holds(
    kube: Kubectl, namespace: str, kafka_bootstrap: str, scaler: Scaler, body: Body
) -> None:
    topic = f"orders-{uuid.uuid4().hex[:8]}"
    admin = AIOKafkaAdminClient(bootstrap_servers=kafka_bootstrap)
    await admin.start()
    try:
        await admin.create_topics([NewTopic(topic, num_partitions=3, replication_factor=1)])
    finally:
        await admin.close()
    producer = AIOKafkaProducer(bootstrap_servers=kafka_bootstrap)
    await producer.start()
    try:
        for n in range(100):
            await producer.send(topic, str(n).encode(), partition=n % 2)  # partitions 0 and 1
        await producer.flush()
    finally:
        await producer.stop()
    kube.apply(
        secret("broker", bootstrap=kafka_bootstrap),
        consumer_deployment("k-billing"),
        namespace=namespace,
    )
    backend = {
        "type": "Kafka",
        "kafka": {
            "bootstrapServers": {"secretKeyRef": {"name": "broker", "key": "bootstrap"}},
            "topic": topic,
            "partitions": 3,
        },
    }
    kube.apply(
        eventstream(
            "k", backend, worker="k-billing", minReplicas=1, maxReplicas=10, lagPerReplica=10
        ),
        namespace=namespace,
    )

    await scaler.tick([body("k")], now=0.0)
    assert replicas(kube, namespace, "k-billing") == 2, body("k")["status"]
    (billing,) = body("k")["status"]["consumers"]
    assert billing["lag"] == 100
    assert billing["partitionsWithLag"] == 2
    assert billing["capReason"] == "PartitionsWithLag"
