"""The real API server refuses bad resources with a message that names the field, and accepts the
samples: schema constraints and CEL rules of the generated CRDs, no operator involved."""

from __future__ import annotations

import copy
from typing import Any

import pytest
import yaml

from ragline_dev.infra.kube import Kubectl, KubectlError
from ragline_dev.operator_part import sample_resources, sample_secrets
from tests.e2e.operator.support import resource

# control_plane installs the CRDs: run alone, this module would otherwise have none to check.
pytestmark = [pytest.mark.e2e, pytest.mark.usefixtures("control_plane")]


def sample(kind: str) -> dict[str, Any]:
    """A sample custom resource of ``kind`` (the Redis EventStream for EventStream)."""
    for document in sample_resources(kafka=True):
        if document["kind"] == kind and document["metadata"]["name"] != "orders-kafka":
            return copy.deepcopy(document)
    raise LookupError(kind)


def kafka_stream() -> dict[str, Any]:
    (stream,) = [d for d in sample_resources(kafka=True) if d["metadata"]["name"] == "orders-kafka"]
    return copy.deepcopy(stream)


def changed(obj: dict[str, Any], path: str, value: Any) -> dict[str, Any]:
    """A copy with ``path`` (dotted) set to ``value`` (None removes it)."""
    result = copy.deepcopy(obj)
    *parents, leaf = path.split(".")
    node = result
    for part in parents:
        node = node.setdefault(part, {})
    if value is None:
        node.pop(leaf, None)
    else:
        node[leaf] = value
    return result


SECRET = {"secretKeyRef": {"name": "ragline-redis", "key": "url"}}
REFUSED = [
    # (object, field path named in the message, a fragment of the message)
    (changed(sample("TenantConfig"), "spec.tenantId", "Acme_1"), "spec.tenantId", "should match"),
    (
        changed(sample("TenantConfig"), "spec.auth", {"issuer": "https://id.example"}),
        "spec.auth",
        "auth.issuer and auth.jwksUrl go together",
    ),
    (changed(sample("TenantConfig"), "spec.state", "Paused"), "spec.state", "Unsupported value"),
    (
        changed(sample("EventStream"), "spec.backend.type", "Kafka"),
        "spec.backend",
        "backend.type Kafka requires backend.kafka and forbids backend.redis",
    ),
    (
        changed(sample("EventStream"), "spec.autoscaling", {"minReplicas": 5, "maxReplicas": 2}),
        "spec.autoscaling.minReplicas",
        "must not exceed autoscaling.maxReplicas",
    ),
    (
        changed(sample("EventStream"), "spec.outbox.pollInterval", "soon"),
        "spec.outbox.pollInterval",
        "should match",
    ),
    (
        changed(sample("EventStream"), "spec.deletionPolicy", "Orphan"),
        "spec.deletionPolicy",
        "Unsupported value",
    ),
    (
        changed(sample("RagPipeline"), "spec.database.dsn", "postgresql://u:p@db/x"),
        "spec.database.dsn",
        "expected map",
    ),
    (
        changed(
            sample("RagPipeline"),
            "spec.sources",
            [{"url": "https://a.example", "inline": {"name": "a", "text": "b"}}],
        ),
        "spec.sources[0]",
        "exactly one of configMapRef, inline or url",
    ),
    (
        changed(sample("RagPipeline"), "spec.vectorIndex", {"m": 48, "efConstruction": 64}),
        "spec.vectorIndex.efConstruction",
        "at least 2 * vectorIndex.m",
    ),
    (
        changed(sample("RagPipeline"), "spec.embedding.model", "all-MiniLM-L6-v2"),
        "spec.embedding.model",
        "the Local provider implements only 'ragline-hashing-v1'",
    ),
    (
        changed(sample("RagPipeline"), "spec.embedding.dimensions", 4),
        "spec.embedding.dimensions",
        "should be greater than or equal to 8",
    ),
    (
        changed(sample("RagPipeline"), "metadata.name", "x" * 41),
        "metadata.name",
        "at most 40 characters",
    ),
    (
        changed(sample("RagPipeline"), "spec.replicas", 3),
        "spec.replicas",
        "field not declared in schema",
    ),
]


@pytest.mark.parametrize(
    ("obj", "field", "fragment"), REFUSED, ids=[f"{r[1]}:{r[2][:30]}" for r in REFUSED]
)
def test_the_api_server_refuses_an_invalid_resource_naming_the_field(
    kube: Kubectl, namespace: str, obj: dict[str, Any], field: str, fragment: str
) -> None:
    with pytest.raises(KubectlError) as refused:
        kube.apply(obj, namespace=namespace)

    message = str(refused.value)
    assert field in message, message
    assert fragment in message, message
    assert resource(kube, obj["kind"], obj["metadata"]["name"], namespace) is None


@pytest.mark.parametrize(
    ("obj", "path", "value", "fragment"),
    [
        (sample("TenantConfig"), "spec.tenantId", "other", "tenantId is immutable"),
        (kafka_stream(), "spec.backend.kafka.partitions", 1, "partitions can only grow"),
        (kafka_stream(), "spec.backend.kafka.topic", "renamed", "topic is immutable"),
    ],
    ids=["tenantId", "partitions", "topic"],
)
def test_transition_rules_refuse_the_update(
    kube: Kubectl, namespace: str, obj: dict[str, Any], path: str, value: Any, fragment: str
) -> None:
    kube.apply(obj, namespace=namespace)

    with pytest.raises(KubectlError) as refused:
        kube.apply(changed(obj, path, value), namespace=namespace)

    assert path in str(refused.value)
    assert fragment in str(refused.value)


def test_the_samples_validate_against_the_crds(kube: Kubectl, namespace: str) -> None:
    documents = [*sample_secrets({}), *sample_resources(kafka=True)]
    dry_run = ["apply", "--server-side", "--dry-run=server", "-n", namespace, "-f", "-"]

    output = kube.check(*dry_run, stdin=yaml.safe_dump_all(documents))

    for document in documents:
        assert f"{document['metadata']['name']} serverside-applied (server dry run)" in output
