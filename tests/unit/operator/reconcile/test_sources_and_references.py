"""Source ConfigMaps (checksums, missing ones) and the objects a resource reads."""

from __future__ import annotations

from typing import Any

from ragline_operator.models import RagPipelineSpec
from ragline_operator.reconcile.references import (
    controller_uid,
    eventstream_references,
    ragpipeline_references,
)
from ragline_operator.reconcile.sources import resolve_sources, source_refs
from tests.unit.operator.samples import kafka_stream_spec, pipeline_spec, redis_stream_spec


def config_map(data: dict[str, str]) -> dict[str, Any]:
    return {"metadata": {"name": "menu"}, "data": data}


def test_the_checksum_follows_the_content_of_the_source_configmaps() -> None:
    refs = source_refs(RagPipelineSpec.model_validate(pipeline_spec()))

    one = resolve_sources(refs, {"menu": config_map({"a.md": "pizza"})})
    same = resolve_sources(refs, {"menu": config_map({"a.md": "pizza"})})
    edited = resolve_sources(refs, {"menu": config_map({"a.md": "pasta"})})

    assert [r.path for r in refs] == ["spec.sources[0].configMapRef"]
    assert one.checksum == same.checksum != edited.checksum
    assert one.problems == ()


def test_a_missing_source_configmap_is_named_with_its_field() -> None:
    refs = source_refs(RagPipelineSpec.model_validate(pipeline_spec()))

    resolution = resolve_sources(refs, {"menu": None})

    assert resolution.problems == ("spec.sources[0].configMapRef: ConfigMap 'menu' not found",)


def test_references_name_every_secret_and_source_configmap() -> None:
    assert sorted(eventstream_references("shop", redis_stream_spec())) == [
        ("shop", "Secret", "pg"),
        ("shop", "Secret", "redis"),
    ]
    assert ("shop", "Secret", "kafka") in eventstream_references("shop", kafka_stream_spec())
    assert sorted(ragpipeline_references("shop", pipeline_spec())) == [
        ("shop", "ConfigMap", "menu"),
        ("shop", "EventStream", "orders"),
        ("shop", "Secret", "llm"),
        ("shop", "Secret", "pg"),
        ("shop", "Secret", "redis"),
    ]


def test_a_child_names_its_controlling_owner_of_our_kinds_only() -> None:
    ours = {"apiVersion": "ragline.dev/v1alpha1", "uid": "u1", "controller": True}
    other = {"apiVersion": "apps/v1", "uid": "u2", "controller": True}
    plain = {"apiVersion": "ragline.dev/v1alpha1", "uid": "u3", "controller": False}

    assert controller_uid({"ownerReferences": [other, ours]}, "ragline.dev/v1alpha1") == "u1"
    assert controller_uid({"ownerReferences": [other, plain]}, "ragline.dev/v1alpha1") is None
    assert controller_uid({}, "ragline.dev/v1alpha1") is None


def test_a_spec_that_does_not_parse_references_nothing() -> None:
    assert eventstream_references("shop", {"backend": "nonsense"}) == []
    assert ragpipeline_references("shop", {}) == []
