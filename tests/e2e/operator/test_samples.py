"""The samples on the real control plane: every child, Ready pods, real brokers, prompt rolls.

The module's operator keeps the default 60 s resync, so whatever happens here within a few
seconds was caused by a watch (a spec change, a Secret or ConfigMap change), not by the resync.
"""

from __future__ import annotations

import asyncio
import base64
import json
import uuid
from typing import Any

import asyncpg
import pytest
import redis
from aiokafka.admin import AIOKafkaAdminClient

from ragline_api import migrations as api_migrations
from ragline_common.registry import REGISTRY_KEY
from ragline_dev.infra.kube import Kubectl
from tests.e2e.operator.support import (
    Backends,
    OperatorProcess,
    all_ready,
    apply_samples,
    condition_is,
    conditions,
    events,
    eventually,
    items,
    pods_ready,
    ready,
    resource,
    stream_name,
)

pytestmark = pytest.mark.e2e

# Well below the 60 s resync: only a watch can make a change show up this fast.
PROMPT_SECONDS = 15.0
DEPLOYMENTS = (
    "orders-relay",
    "orders-notifier",
    "orders-kafka-relay",
    "orders-kafka-notifier",
    "shop-api",
    "shop-llm",
)
SERVICES = (
    "orders-notifier",
    "orders-relay-metrics",
    "orders-kafka-notifier",
    "orders-kafka-relay-metrics",
    "shop-api",
    "shop-llm",
)


PENDING_EVENT = """
INSERT INTO outbox (id, aggregatetype, aggregateid, type, payload, tenant_id)
VALUES ($1, 'order', $2, 'order.created.v1', '{}'::jsonb, 'demo')
"""


def owned_by(obj: dict[str, Any], owner: dict[str, Any]) -> bool:
    refs = obj["metadata"].get("ownerReferences") or []
    return any(ref["uid"] == owner["metadata"]["uid"] for ref in refs)


def pod_checksum(kube: Kubectl, namespace: str, deployment: str) -> str:
    obj = resource(kube, "deployment", deployment, namespace)
    assert obj is not None
    return str(obj["spec"]["template"]["metadata"]["annotations"]["ragline.dev/secrets-checksum"])


async def kafka_partitions(bootstrap: str, topic: str) -> int:
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        if topic not in await admin.list_topics():
            return 0
        (described,) = await admin.describe_topics([topic])
        return len(described["partitions"])
    finally:
        await admin.close()


async def test_samples_come_up_with_every_child_ready(
    kube: Kubectl, namespace: str, kafka_backends: Backends, operator: OperatorProcess
) -> None:
    custom = apply_samples(kube, kafka_backends, namespace, kafka=True)

    eventually(lambda: all_ready(kube, namespace, custom), "every sample is Ready")

    pipeline = resource(kube, "ragpipeline", "shop", namespace)
    redis_stream = resource(kube, "eventstream", "orders", namespace)
    kafka_stream = resource(kube, "eventstream", "orders-kafka", namespace)
    tenant = resource(kube, "tenantconfig", "demo", namespace)
    assert pipeline is not None
    assert redis_stream is not None
    assert kafka_stream is not None
    assert tenant is not None
    owners = {"shop": pipeline, "orders": redis_stream, "orders-kafka": kafka_stream}
    for name in DEPLOYMENTS:
        deployment = resource(kube, "deployment", name, namespace)
        assert deployment is not None, name
        assert owned_by(deployment, owners[name.rsplit("-", 1)[0]]), name
    for name in SERVICES:
        assert resource(kube, "service", name, namespace) is not None, name
    jobs = items(kube, "jobs", namespace)
    assert {j["metadata"]["name"].rsplit("-", 1)[0] for j in jobs} == {
        "shop-migrate",
        "shop-ingest",
    }
    assert all(j["status"].get("succeeded") == 1 for j in jobs)
    assert pods_ready(kube, namespace, "app.kubernetes.io/part-of=ragline") is not None

    # Outside Kubernetes: the stream, the topic with its partitions. The stream has no group yet:
    # each notifier process makes its own when it starts (the Pods here are kwok's).
    client = redis.Redis.from_url(kafka_backends.redis_url, decode_responses=True)
    try:
        stream = client.xinfo_stream(stream_name(namespace))
    finally:
        client.close()
    assert (stream["length"], stream["groups"]) == (0, 0)
    assert await kafka_partitions(kafka_backends.kafka_bootstrap, stream_name(namespace)) == 3

    stream_conditions = {t: c["status"] for t, c in conditions(redis_stream).items()}
    expected = {"BrokerReachable", "StreamReady", "RelayReady", "NotifierReady", "SecretsReady"}
    assert {t: "True" for t in expected}.items() <= stream_conditions.items()
    assert conditions(kafka_stream)["CleanupReady"]["status"] == "True"
    pipeline_conditions = conditions(pipeline)
    for type_ in ("DatabaseReady", "LLMReachable", "Migrated", "IndexReady", "EventStreamReady"):
        assert pipeline_conditions[type_]["status"] == "True", pipeline_conditions[type_]
    assert "pgvector" in pipeline_conditions["DatabaseReady"]["message"]
    assert pipeline["status"]["endpoints"]["api"] == f"http://shop-api.{namespace}.svc:8080"

    # The tenant: its key Secret and the namespace's registry listing it.
    key_secret = resource(kube, "secret", "demo-signing-key", namespace)
    assert key_secret is not None
    assert tenant["status"]["keyId"] in key_secret["data"]
    registry = resource(kube, "configmap", "ragline-tenants", namespace)
    assert registry is not None
    assert "demo" in json.loads(registry["data"][REGISTRY_KEY])["tenants"]

    created = {e["reason"] for e in items(kube, "events", namespace)}
    assert {"StreamCreated", "TopicCreated", "KeyGenerated", "ReadyTrue"} <= created


async def test_spec_change_rolls_out(
    kube: Kubectl, namespace: str, backends: Backends, operator: OperatorProcess
) -> None:
    custom = apply_samples(kube, backends, namespace)
    eventually(lambda: all_ready(kube, namespace, custom), "the samples are Ready")
    before = resource(kube, "deployment", "shop-llm", namespace)
    assert before is not None

    kube.check(
        "patch",
        "ragpipeline",
        "shop",
        "-n",
        namespace,
        "--type=merge",
        "-p",
        json.dumps({"spec": {"api": {"replicas": 2}, "retrieval": {"topK": 3}}}),
    )

    def rolled() -> bool:
        api = resource(kube, "deployment", "shop-api", namespace)
        llm = resource(kube, "deployment", "shop-llm", namespace)
        assert api is not None
        assert llm is not None
        env = {
            e["name"]: e.get("value")
            for e in llm["spec"]["template"]["spec"]["containers"][0]["env"]
        }
        return bool(api["spec"]["replicas"] == 2 and env["RAGLINE_LLM_RETRIEVAL_TOP_K"] == "3")

    eventually(rolled, "the API scales to 2 and the chat pods get topK 3", timeout=PROMPT_SECONDS)
    eventually(
        lambda: ready(kube, "ragpipeline", "shop", namespace),
        "the pipeline is Ready for its new generation",
    )
    assert len(pods_ready(kube, namespace, "app.kubernetes.io/name=ragline-api") or []) == 2
    after = resource(kube, "deployment", "shop-llm", namespace)
    assert after is not None
    assert after["metadata"]["generation"] > before["metadata"]["generation"]


async def test_rotated_secret_rolls_the_pods_that_use_it(
    kube: Kubectl, namespace: str, backends: Backends, operator: OperatorProcess
) -> None:
    custom = apply_samples(kube, backends, namespace)
    eventually(lambda: all_ready(kube, namespace, custom), "the samples are Ready")
    relay, notifier, api = (
        pod_checksum(kube, namespace, name)
        for name in ("orders-relay", "orders-notifier", "shop-api")
    )

    rotated = f"{backends.dsn}?application_name=rotated"
    encoded = base64.b64encode(rotated.encode()).decode()
    kube.check(
        "patch",
        "secret",
        "ragline-postgres",
        "-n",
        namespace,
        "--type=merge",
        "-p",
        json.dumps({"data": {"dsn": encoded}}),
    )

    eventually(
        lambda: (
            pod_checksum(kube, namespace, "orders-relay") != relay
            and pod_checksum(kube, namespace, "shop-api") != api
        ),
        "the relay and API pod templates carry the new checksum",
        timeout=PROMPT_SECONDS,
    )
    # The notifier does not read the database: its pods stay as they are.
    assert pod_checksum(kube, namespace, "orders-notifier") == notifier
    eventually(lambda: events(kube, namespace, "SecretChanged"), "a SecretChanged Event")
    eventually(lambda: all_ready(kube, namespace, custom), "Ready again after the roll")


async def test_changed_source_configmap_reingests(
    kube: Kubectl, namespace: str, backends: Backends, operator: OperatorProcess
) -> None:
    custom = apply_samples(kube, backends, namespace)
    eventually(lambda: all_ready(kube, namespace, custom), "the samples are Ready")
    first = resource(kube, "ragpipeline", "shop", namespace)
    assert first is not None
    first_job = first["status"]["index"]["ingestionJob"]

    document = "---\ntenant: demo\nkind: faq\ntitle: Vegan?\n---\nAsk for the vegan cheese.\n"
    kube.check(
        "patch",
        "configmap",
        "demo-menu",
        "-n",
        namespace,
        "--type=merge",
        "-p",
        json.dumps({"data": {"vegan-faq.md": document}}),
    )

    def reindexed() -> str | None:
        pipeline = ready(kube, "ragpipeline", "shop", namespace)
        job = (pipeline or {}).get("status", {}).get("index", {}).get("ingestionJob")
        return job if job and job != first_job else None

    new_job = eventually(reindexed, "a new ingestion Job indexed the changed ConfigMap")
    jobs = {j["metadata"]["name"] for j in items(kube, "jobs", namespace)}
    assert new_job in jobs
    assert first_job not in jobs  # superseded Jobs are pruned
    assert events(kube, namespace, "SourcesChanged")


async def test_missing_secret_is_named_and_the_stream_recovers(
    kube: Kubectl, namespace: str, backends: Backends, operator: OperatorProcess
) -> None:
    custom = apply_samples(kube, backends, namespace)
    eventually(lambda: all_ready(kube, namespace, custom), "the samples are Ready")
    deployment = resource(kube, "deployment", "orders-notifier", namespace)
    assert deployment is not None

    kube.check("delete", "secret", "ragline-redis", "-n", namespace)

    missing = eventually(
        lambda: condition_is(kube, "eventstream", "orders", namespace, "SecretsReady", "False"),
        "SecretsReady=False",
        timeout=PROMPT_SECONDS,
    )
    assert "spec.backend.redis.url: Secret 'ragline-redis' not found" in missing["message"]
    warnings = eventually(lambda: events(kube, namespace, "ReadyFalse"), "a ReadyFalse Event")
    assert all(e["type"] == "Warning" for e in warnings)
    # Nothing was rolled out that could not start: the notifier is as it was.
    unchanged = resource(kube, "deployment", "orders-notifier", namespace)
    assert unchanged is not None
    assert unchanged["metadata"]["generation"] == deployment["metadata"]["generation"]

    kube.apply(
        {
            "apiVersion": "v1",
            "kind": "Secret",
            "metadata": {"name": "ragline-redis"},
            "stringData": {"url": backends.redis_url},
        },
        namespace=namespace,
    )
    eventually(
        lambda: ready(kube, "eventstream", "orders", namespace),
        "Ready again once the Secret is back",
        timeout=PROMPT_SECONDS,
    )


async def test_unreachable_broker_and_refused_llm_key_are_reported(
    kube: Kubectl, namespace: str, backends: Backends, operator: OperatorProcess
) -> None:
    closed = "redis://:s3cret-password@127.0.0.1:9/0"  # port 9 (discard) has no server
    wrong = Backends(dsn=backends.dsn, redis_url=closed, llm_url=backends.llm_url)
    custom = apply_samples(kube, wrong, namespace)
    kube.check(
        "patch", "secret", "ragline-llm", "-n", namespace, "--type=merge",
        "-p", json.dumps({"stringData": {"apiKey": "sk-wrong"}}),
    )  # fmt: skip
    assert custom

    broker = eventually(
        lambda: condition_is(kube, "eventstream", "orders", namespace, "BrokerReachable", "False"),
        "BrokerReachable=False",
    )
    assert broker["reason"] == "Unreachable"
    assert "s3cret-password" not in broker["message"]
    assert "127.0.0.1:9" in broker["message"]
    stream = resource(kube, "eventstream", "orders", namespace)
    assert conditions(stream)["Ready"]["status"] == "False"
    assert conditions(stream)["StreamReady"]["status"] == "Unknown"

    llm = eventually(
        lambda: condition_is(kube, "ragpipeline", "shop", namespace, "LLMReachable", "False"),
        "LLMReachable=False",
    )
    assert llm["reason"] == "Unauthorized"
    assert "sk-wrong" not in json.dumps(resource(kube, "ragpipeline", "shop", namespace))


async def test_the_outbox_backlog_shows_in_the_status_and_the_printer_columns(
    kube: Kubectl,
    namespace: str,
    backends: Backends,
    fresh_database: str,
    operator: OperatorProcess,
) -> None:
    # The API's migrations make the outbox; two events wait for a relay (the Pods are kwok's).
    await asyncio.to_thread(api_migrations.upgrade, fresh_database)
    conn = await asyncpg.connect(fresh_database)
    try:
        for n in range(2):
            await conn.execute(PENDING_EVENT, uuid.uuid4(), f"order-{n}")
    finally:
        await conn.close()
    with_outbox = Backends(
        dsn=fresh_database, redis_url=backends.redis_url, llm_url=backends.llm_url
    )
    custom = apply_samples(kube, with_outbox, namespace)
    eventually(lambda: all_ready(kube, namespace, custom), "the samples are Ready")

    stream = eventually(
        lambda: (
            (s := resource(kube, "eventstream", "orders", namespace))
            and s["status"].get("outbox")
            and s
        ),
        "status.outbox",
    )

    outbox = stream["status"]["outbox"]
    assert outbox["pending"] == 2
    assert outbox["oldestPendingSeconds"] >= 0
    assert "deadLetters" not in outbox  # the relay's own migration has not run
    table = kube.check("get", "eventstream", "orders", "-n", namespace, "-o", "wide")
    header, row = table.splitlines()[:2]
    # Columns are aligned under their headers, and empty ones (LAG here) print nothing.
    start = header.index("PENDING")
    assert row[start:].split()[0] == "2"
