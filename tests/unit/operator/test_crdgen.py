"""The generated CRDs: structural, documented, bounded, and refusing what they should."""

from __future__ import annotations

import copy
from collections.abc import Iterator, Mapping
from typing import Any

import pytest
import yaml

from ragline_operator.crdgen import CUSTOM_RESOURCES, SchemaError, crd, crd_documents, structural
from ragline_operator.models.base import MAX_STATUS_ITEMS
from tests.unit.operator.celcheck import violations
from tests.unit.operator.samples import (
    body,
    kafka_stream_spec,
    pipeline_spec,
    redis_stream_spec,
    tenant_spec,
)

CRDS = {resource.names.kind: crd(resource) for resource in CUSTOM_RESOURCES}
FORBIDDEN_KEYWORDS = {"$ref", "$defs", "anyOf", "oneOf", "allOf", "not", "title", "const"}


def schema_of(kind: str) -> dict[str, Any]:
    return dict(CRDS[kind]["spec"]["versions"][0]["schema"]["openAPIV3Schema"])


def nodes(schema: Mapping[str, Any], path: str = "") -> Iterator[tuple[str, Mapping[str, Any]]]:
    yield path, schema
    for name, sub in (schema.get("properties") or {}).items():
        yield from nodes(sub, f"{path}.{name}")
    if "items" in schema:
        yield from nodes(schema["items"], f"{path}[]")
    if isinstance(schema.get("additionalProperties"), Mapping):
        yield from nodes(schema["additionalProperties"], f"{path}{{}}")


@pytest.mark.parametrize("kind", sorted(CRDS))
def test_schema_is_structural(kind: str) -> None:
    for path, node in nodes(schema_of(kind)):
        assert not FORBIDDEN_KEYWORDS & node.keys(), path
        assert node.get("additionalProperties") is not False, path
        assert "uniqueItems" not in node, path
        if node.get("x-kubernetes-int-or-string"):
            assert "type" not in node, path
            continue
        assert "type" in node, path
        if node["type"] == "object" and path != ".metadata":
            assert "properties" in node or "additionalProperties" in node, path


@pytest.mark.parametrize("kind", sorted(CRDS))
def test_every_spec_and_status_field_is_described(kind: str) -> None:
    schema = schema_of(kind)
    for part in ("spec", "status"):
        for path, node in nodes(schema["properties"][part], f".{part}"):
            if path.endswith(("{}", "[]")) and node.get("type") != "object":
                continue  # map values and scalar list items are described by their field
            assert node.get("description"), f"{kind}{path} has no description"


@pytest.mark.parametrize("kind", sorted(CRDS))
def test_status_lists_are_bounded_and_conditions_are_a_map(kind: str) -> None:
    status = schema_of(kind)["properties"]["status"]
    for path, node in nodes(status, ".status"):
        if node.get("type") == "array":
            assert node.get("maxItems", 10**9) <= MAX_STATUS_ITEMS, path
    conditions = status["properties"]["conditions"]
    assert conditions["x-kubernetes-list-type"] == "map"
    assert conditions["x-kubernetes-list-map-keys"] == ["type"]
    assert set(conditions["items"]["required"]) == {
        "type",
        "status",
        "lastTransitionTime",
        "reason",
        "message",
    }


@pytest.mark.parametrize("kind", sorted(CRDS))
def test_crd_shape(kind: str) -> None:
    definition = CRDS[kind]
    names = definition["spec"]["names"]
    version = definition["spec"]["versions"][0]
    assert definition["spec"]["scope"] == "Namespaced"
    assert names["categories"] == ["ragline"]
    assert len(names["shortNames"]) == 1
    assert version["subresources"] == {"status": {}}
    columns = [c["name"] for c in version["additionalPrinterColumns"] if "priority" not in c]
    assert "Ready" in columns
    assert columns[-1] == "Age"


@pytest.mark.parametrize("kind", sorted(CRDS))
def test_printer_columns_point_at_declared_fields(kind: str) -> None:
    schema = schema_of(kind)
    for column in CRDS[kind]["spec"]["versions"][0]["additionalPrinterColumns"]:
        path = column["jsonPath"].split("[")[0].strip(".").split(".")
        node: Mapping[str, Any] = schema
        for part in path:
            if part == "creationTimestamp":
                break
            assert part in (node.get("properties") or {}), column
            node = node["properties"][part]


def test_short_names_are_tc_es_rp() -> None:
    short = {kind: CRDS[kind]["spec"]["names"]["shortNames"][0] for kind in CRDS}
    assert short == {"TenantConfig": "tc", "EventStream": "es", "RagPipeline": "rp"}


@pytest.mark.parametrize(
    ("kind", "path"),
    [
        ("EventStream", ("outbox", "database")),
        ("EventStream", ("backend", "kafka", "bootstrapServers")),
        ("EventStream", ("backend", "redis", "url")),
        ("RagPipeline", ("database", "dsn")),
        ("RagPipeline", ("cache", "url")),
        ("RagPipeline", ("llm", "apiKey")),
    ],
)
def test_credentials_are_secret_references_never_strings(kind: str, path: tuple[str, ...]) -> None:
    node = schema_of(kind)["properties"]["spec"]
    for part in path:
        node = node["properties"][part]
    assert node["type"] == "object"
    ref = node["properties"]["secretKeyRef"]
    assert set(ref["required"]) == {"name", "key"}


def test_generated_files_are_yaml_of_the_same_crds() -> None:
    documents = crd_documents()
    loaded = {yaml.safe_load(text)["spec"]["names"]["kind"] for text in documents.values()}
    assert loaded == set(CRDS)
    assert all("&id" not in text for text in documents.values())


def test_unions_other_than_optional_are_refused() -> None:
    with pytest.raises(SchemaError, match="unions"):
        structural({"anyOf": [{"type": "string"}, {"type": "integer"}]}, {})
    with pytest.raises(SchemaError, match="keyword"):
        structural({"type": "string", "oneOf": []}, {})


def test_defaults_are_valid_for_their_own_fields() -> None:
    for kind in CRDS:
        for path, node in nodes(schema_of(kind)):
            if "default" in node and "enum" in node:
                assert node["default"] in node["enum"], path


VALID = [
    body("TenantConfig", "acme", tenant_spec()),
    body("TenantConfig", "ext", tenant_spec("ext", auth={"issuer": "x", "jwksUrl": "https://j"})),
    body("EventStream", "orders", redis_stream_spec()),
    body("EventStream", "korders", kafka_stream_spec(autoscaling={"maxReplicas": 3})),
    body("RagPipeline", "menu", pipeline_spec()),
]


@pytest.mark.parametrize("obj", VALID, ids=lambda o: o["metadata"]["name"])
def test_valid_samples_pass(obj: dict[str, Any]) -> None:
    assert violations(CRDS[obj["kind"]], obj) == []


def _with(obj: dict[str, Any], path: str, value: Any) -> dict[str, Any]:
    changed = copy.deepcopy(obj)
    *parents, leaf = path.split(".")
    node = changed
    for part in parents:
        node = node.setdefault(part, {})
    if value is None:
        node.pop(leaf, None)
    else:
        node[leaf] = value
    return changed


TENANT = VALID[0]
REDIS = VALID[2]
KAFKA = VALID[3]
PIPELINE = VALID[4]
REFUSED = [
    (TENANT, "spec.tenantId", "Acme_1", "spec.tenantId: 'Acme_1' does not match"),
    (TENANT, "spec.auth", {"issuer": "https://x"}, "auth.issuer and auth.jwksUrl go together"),
    (
        TENANT,
        "spec.auth",
        {"keyRotation": {"every": "1h", "overlap": "2h"}},
        "overlap must be shorter",
    ),
    (TENANT, "spec.state", "Paused", "is not one of"),
    (
        REDIS,
        "spec.backend.type",
        "Kafka",
        "backend.type Kafka requires backend.kafka and forbids backend.redis",
    ),
    (
        KAFKA,
        "spec.backend.redis",
        {"url": {"secretKeyRef": {"name": "r", "key": "u"}}, "stream": "s"},
        "forbids backend.redis",
    ),
    (
        REDIS,
        "spec.autoscaling",
        {"minReplicas": 5, "maxReplicas": 2},
        "minReplicas must not exceed",
    ),
    (REDIS, "spec.consumers", [{"group": "billing"}], "every other group needs one"),
    (REDIS, "spec.outbox.pollInterval", "soon", "spec.outbox.pollInterval: 'soon' does not"),
    (PIPELINE, "spec.database.dsn", "postgresql://u:p@db/x", "is not of type 'object'"),
    (
        PIPELINE,
        "spec.sources",
        [{"url": "https://a", "inline": {"name": "a", "text": "b"}}],
        "exactly one of configMapRef, inline or url",
    ),
    (PIPELINE, "spec.vectorIndex", {"m": 48, "efConstruction": 64}, "at least 2 * vectorIndex.m"),
    (PIPELINE, "spec.embedding", {"dimensions": 3072}, "cannot be indexed by pgvector"),
    (
        _with(PIPELINE, "spec.llm", None),
        "spec.embedding",
        {"provider": "OpenAICompatible"},
        "set spec.llm",
    ),
    (
        PIPELINE,
        "spec.embedding",
        {"model": "all-MiniLM-L6-v2"},
        "embedding.model: the Local provider implements only 'ragline-hashing-v1'",
    ),
    (
        PIPELINE,
        "spec.embedding",
        {"provider": "OpenAICompatible"},
        "embedding.model: 'ragline-hashing-v1' is the Local provider's",
    ),
    (PIPELINE, "spec.embedding", {"dimensions": 4}, "spec.embedding.dimensions: 4 is less than"),
    (PIPELINE, "metadata.name", "x" * 41, "at most 40 characters"),
]


@pytest.mark.parametrize(
    ("obj", "path", "value", "message"), REFUSED, ids=[f"{r[1]}={r[2]!r}"[:60] for r in REFUSED]
)
def test_invalid_resources_are_refused_with_a_message_naming_the_field(
    obj: dict[str, Any], path: str, value: Any, message: str
) -> None:
    problems = violations(CRDS[obj["kind"]], _with(obj, path, value))
    assert any(message in problem for problem in problems), problems


TRANSITIONS = [
    (TENANT, "spec.tenantId", "other", "tenantId is immutable"),
    (KAFKA, "spec.backend.kafka.partitions", 3, "partitions can only grow"),
    (KAFKA, "spec.backend.kafka.topic", "renamed", "topic is immutable"),
    (REDIS, "spec.backend.redis.stream", "renamed", "stream is immutable"),
]


@pytest.mark.parametrize(("obj", "path", "value", "message"), TRANSITIONS)
def test_transition_rules_refuse_updates(
    obj: dict[str, Any], path: str, value: Any, message: str
) -> None:
    problems = violations(CRDS[obj["kind"]], _with(obj, path, value), old=obj)
    assert any(message in problem for problem in problems), problems


def test_partitions_may_grow_and_unchanged_updates_pass() -> None:
    grown = _with(KAFKA, "spec.backend.kafka.partitions", 12)
    assert violations(CRDS["EventStream"], grown, old=KAFKA) == []
    assert violations(CRDS["TenantConfig"], TENANT, old=TENANT) == []


def test_backend_type_cannot_change_on_update() -> None:
    switched = _with(REDIS, "spec.backend", KAFKA["spec"]["backend"])
    problems = violations(CRDS["EventStream"], switched, old=REDIS)
    assert any("backend.type is immutable" in p for p in problems), problems
