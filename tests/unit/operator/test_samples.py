"""manifests/samples/: valid against the generated CRDs, Secrets only referenced, all present."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import yaml

from ragline_dev.operator_part import SAMPLE_SECRETS, sample_resources
from ragline_operator.crdgen import CUSTOM_RESOURCES, crd
from ragline_operator.models import EventStreamSpec, RagPipelineSpec, TenantConfigSpec
from tests.unit.operator.celcheck import violations

CRDS = {resource.names.kind: crd(resource) for resource in CUSTOM_RESOURCES}
MODELS = {
    "TenantConfig": TenantConfigSpec,
    "EventStream": EventStreamSpec,
    "RagPipeline": RagPipelineSpec,
}
RESOURCES = sample_resources(kafka=True)
CUSTOM = [r for r in RESOURCES if r["kind"] in CRDS]


def secret_refs(node: Any) -> Iterator[tuple[str, str]]:
    if isinstance(node, dict):
        ref = node.get("secretKeyRef")
        if isinstance(ref, dict):
            yield ref["name"], ref["key"]
        for value in node.values():
            yield from secret_refs(value)
    elif isinstance(node, list):
        for item in node:
            yield from secret_refs(item)


def test_there_is_a_sample_of_each_kind_and_both_backends() -> None:
    assert sorted(r["kind"] for r in CUSTOM) == [
        "EventStream",
        "EventStream",
        "RagPipeline",
        "TenantConfig",
    ]
    backends = {r["spec"]["backend"]["type"] for r in CUSTOM if r["kind"] == "EventStream"}
    assert backends == {"Kafka", "Redis"}


@pytest.mark.parametrize("obj", CUSTOM, ids=lambda o: f"{o['kind']}/{o['metadata']['name']}")
def test_a_sample_passes_the_crd_schema_cel_rules_and_the_model(obj: dict[str, Any]) -> None:
    assert violations(CRDS[obj["kind"]], obj) == []
    model: Any = MODELS[obj["kind"]]
    model.model_validate(obj["spec"])


def test_every_referenced_secret_key_and_source_is_in_the_samples() -> None:
    secrets = {
        (s["metadata"]["name"], key): value
        for s in yaml.safe_load_all(SAMPLE_SECRETS.read_text())
        for key, value in s["stringData"].items()
    }
    referenced = {ref for obj in CUSTOM for ref in secret_refs(obj["spec"])}

    assert referenced == set(secrets)
    config_maps = {r["metadata"]["name"] for r in RESOURCES if r["kind"] == "ConfigMap"}
    for obj in CUSTOM:
        for source in obj["spec"].get("sources", []):
            assert source["configMapRef"]["name"] in config_maps


def test_secret_values_live_only_in_the_dev_secrets_file() -> None:
    values = [
        value
        for s in yaml.safe_load_all(SAMPLE_SECRETS.read_text())
        for value in s["stringData"].values()
    ]
    text = yaml.safe_dump_all(RESOURCES)

    assert all(value not in text for value in values)
    assert all(r["kind"] != "Secret" for r in RESOURCES)
