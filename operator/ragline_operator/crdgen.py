"""CustomResourceDefinitions generated from the Pydantic models.

Pydantic writes JSON Schema (2020-12 flavoured); the API server wants a *structural* OpenAPI v3
schema: every node typed, objects with ``properties`` or ``additionalProperties``, no ``$ref``, no
``anyOf`` with ``null``, and only the keywords Kubernetes accepts. :func:`structural` does that
translation and refuses anything it does not understand, so a new model feature fails at
``make generate`` rather than at ``kubectl apply``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import yaml
from pydantic import BaseModel

from ragline_operator.models import (
    EVENTSTREAM,
    RAGPIPELINE,
    TENANTCONFIG,
    EventStreamSpec,
    EventStreamStatus,
    RagPipelineSpec,
    RagPipelineStatus,
    TenantConfigSpec,
    TenantConfigStatus,
)
from ragline_operator.models.base import CATEGORY, GROUP, VERSION, ResourceKind, cel

Schema = dict[str, Any]

# Keywords that pass through unchanged (everything else is translated or refused).
_PLAIN_KEYWORDS = frozenset(
    {
        "type",
        "description",
        "required",
        "enum",
        "pattern",
        "minimum",
        "maximum",
        "minLength",
        "maxLength",
        "minItems",
        "maxItems",
        "minProperties",
        "maxProperties",
        "format",
        "default",
        "nullable",
        "x-kubernetes-validations",
        "x-kubernetes-list-type",
        "x-kubernetes-list-map-keys",
        "x-kubernetes-map-type",
        "x-kubernetes-int-or-string",
        "x-kubernetes-preserve-unknown-fields",
        "x-kubernetes-embedded-resource",
    }
)
_DROPPED_KEYWORDS = frozenset({"title", "$defs"})
READY_JSONPATH = '.status.conditions[?(@.type=="Ready")]'
# Children are named <name>-<component>[-<hash>]; Services and label values allow 63 characters.
MAX_OWNER_NAME_LENGTH = 40


class SchemaError(ValueError):
    """A model produced JSON Schema that has no structural OpenAPI equivalent."""


@dataclass(frozen=True)
class PrinterColumn:
    """One ``additionalPrinterColumns`` entry."""

    name: str
    json_path: str
    type: str = "string"
    description: str = ""
    priority: int = 0

    def render(self) -> dict[str, Any]:
        """The CRD's shape of this column."""
        column: dict[str, Any] = {"name": self.name, "type": self.type, "jsonPath": self.json_path}
        if self.description:
            column["description"] = self.description
        if self.priority:
            column["priority"] = self.priority
        return column


@dataclass(frozen=True)
class CustomResource:
    """Everything the CRD of one kind is generated from."""

    names: ResourceKind
    description: str
    spec: type[BaseModel]
    status: type[BaseModel]
    columns: tuple[PrinterColumn, ...]
    max_name_length: int = MAX_OWNER_NAME_LENGTH
    root_rules: tuple[dict[str, str], ...] = field(default=())


def _ready_columns() -> tuple[PrinterColumn, ...]:
    return (
        PrinterColumn("Ready", f"{READY_JSONPATH}.status", description="Ready condition"),
        PrinterColumn(
            "Reason", f"{READY_JSONPATH}.reason", description="Why (not) ready", priority=1
        ),
    )


AGE = PrinterColumn("Age", ".metadata.creationTimestamp", type="date")

CUSTOM_RESOURCES: tuple[CustomResource, ...] = (
    CustomResource(
        names=TENANTCONFIG,
        description="A tenant: identity, token verification, quotas and enabled chat tools.",
        spec=TenantConfigSpec,
        status=TenantConfigStatus,
        columns=(
            PrinterColumn("Tenant", ".spec.tenantId"),
            PrinterColumn("State", ".spec.state"),
            PrinterColumn("Key", ".status.keyId", description="kid of the current signing key"),
            *_ready_columns(),
            PrinterColumn("Issuer", ".status.issuer", priority=1),
            AGE,
        ),
        # The name is a label value on the generated Secret.
        max_name_length=63,
    ),
    CustomResource(
        names=EVENTSTREAM,
        description="A Kafka topic or Redis stream with its outbox relay, notifier and consumers.",
        spec=EventStreamSpec,
        status=EventStreamStatus,
        columns=(
            PrinterColumn("Backend", ".spec.backend.type"),
            PrinterColumn("Lag", ".status.lag", type="integer", description="Total consumer lag"),
            PrinterColumn("Replicas", ".status.replicas", type="integer"),
            PrinterColumn(
                "Pending", ".status.outbox.pending", type="integer", description="Outbox rows"
            ),
            PrinterColumn(
                "Oldest",
                ".status.outbox.oldestPendingSeconds",
                type="integer",
                description="Age of the oldest pending outbox row, seconds",
                priority=1,
            ),
            PrinterColumn("DeadLetters", ".status.outbox.deadLetters", type="integer", priority=1),
            *_ready_columns(),
            PrinterColumn("Topic", ".spec.backend.kafka.topic", priority=1),
            PrinterColumn("Stream", ".spec.backend.redis.stream", priority=1),
            AGE,
        ),
    ),
    CustomResource(
        names=RAGPIPELINE,
        description="The API and chat services of a RAG pipeline, its index and document sources.",
        spec=RagPipelineSpec,
        status=RagPipelineStatus,
        columns=(
            PrinterColumn("Docs", ".status.index.documents", type="integer"),
            *_ready_columns(),
            PrinterColumn("Model", ".spec.llm.model", priority=1),
            PrinterColumn("Chunks", ".status.index.chunks", type="integer", priority=1),
            AGE,
        ),
    ),
)


def structural(node: Mapping[str, Any], defs: Mapping[str, Any]) -> Schema:
    """Translate one JSON Schema node (and its subtree) into structural OpenAPI v3."""
    node = dict(node)
    if "$ref" in node:
        node = _merge_ref(node, defs)
    if "anyOf" in node:
        node = _collapse_any_of(node, defs)
    if "const" in node:
        node["enum"] = [node.pop("const")]
    if node.get("x-kubernetes-int-or-string"):
        node.pop("type", None)
    out: Schema = {}
    for key, value in node.items():
        out.update(_translate(key, value, defs, node))
    _check_node(out)
    return out


def _translate(key: str, value: Any, defs: Mapping[str, Any], node: Schema) -> Schema:
    """One keyword of a node, translated (empty when it has no structural equivalent)."""
    if key in _DROPPED_KEYWORDS or (key == "default" and value is None):
        return {}
    if key in _PLAIN_KEYWORDS:
        return {key: value}
    if key == "properties":
        return {key: {name: structural(sub, defs) for name, sub in value.items()}}
    if key == "items":
        return {key: structural(value, defs)}
    if key == "additionalProperties":
        # `false` is what Kubernetes does anyway for a structural object: pruning.
        return {key: structural(value, defs)} if isinstance(value, Mapping) else {}
    if key in ("exclusiveMinimum", "exclusiveMaximum"):
        # JSON Schema 2020-12 gives the bound; OpenAPI v3.0 flags the inclusive bound instead.
        bound = "minimum" if key == "exclusiveMinimum" else "maximum"
        return {bound: value, key: True}
    raise SchemaError(f"unsupported JSON Schema keyword {key!r} in {node}")


def _merge_ref(node: Schema, defs: Mapping[str, Any]) -> Schema:
    ref = node.pop("$ref")
    prefix = "#/$defs/"
    if not ref.startswith(prefix) or ref[len(prefix) :] not in defs:
        raise SchemaError(f"unresolvable $ref {ref!r}")
    target = dict(defs[ref[len(prefix) :]])
    rules = [*target.get("x-kubernetes-validations", []), *node.get("x-kubernetes-validations", [])]
    merged = {**target, **node}
    if rules:
        merged["x-kubernetes-validations"] = rules
    return merged


def _collapse_any_of(node: Schema, defs: Mapping[str, Any]) -> Schema:
    options = [option for option in node.pop("anyOf") if option != {"type": "null"}]
    if node.get("x-kubernetes-int-or-string"):
        return node
    if len(options) != 1:
        raise SchemaError(f"unions are not structural: {options}")
    option = dict(options[0])
    if "$ref" in option:
        option = _merge_ref(option, defs)
    rules = [*option.get("x-kubernetes-validations", []), *node.get("x-kubernetes-validations", [])]
    merged = {**option, **node}
    if rules:
        merged["x-kubernetes-validations"] = rules
    return merged


def _check_node(node: Schema) -> None:
    if node.get("x-kubernetes-int-or-string") or node.get("x-kubernetes-preserve-unknown-fields"):
        return
    if "type" not in node:
        raise SchemaError(f"schema node without a type: {node}")
    if node["type"] == "object" and "properties" not in node and "additionalProperties" not in node:
        raise SchemaError(f"object without properties or additionalProperties: {node}")


def model_schema(model: type[BaseModel]) -> Schema:
    """The structural schema of one model, ``$defs`` inlined."""
    schema = model.model_json_schema(by_alias=True, mode="validation")
    return structural(schema, schema.get("$defs", {}))


def crd(resource: CustomResource) -> dict[str, Any]:
    """The CustomResourceDefinition of one kind."""
    names = resource.names
    name_rule = cel(
        f"self.metadata.name.size() <= {resource.max_name_length}",
        f"metadata.name must be at most {resource.max_name_length} characters: the operator "
        "derives child names and label values from it",
    )
    schema: Schema = {
        "type": "object",
        "description": resource.description,
        "required": ["spec"],
        "properties": {
            "apiVersion": {"type": "string", "description": "Versioned schema of this object."},
            "kind": {"type": "string", "description": "REST resource this object represents."},
            "metadata": {"type": "object"},
            "spec": model_schema(resource.spec),
            "status": model_schema(resource.status),
        },
        "x-kubernetes-validations": [name_rule, *resource.root_rules],
    }
    return {
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": {
            "name": names.crd_name,
            "labels": {"app.kubernetes.io/part-of": "ragline"},
        },
        "spec": {
            "group": GROUP,
            "names": {
                "kind": names.kind,
                "listKind": f"{names.kind}List",
                "plural": names.plural,
                "singular": names.singular,
                "shortNames": [names.short_name],
                "categories": [CATEGORY],
            },
            "scope": "Namespaced",
            "versions": [
                {
                    "name": VERSION,
                    "served": True,
                    "storage": True,
                    "subresources": {"status": {}},
                    "additionalPrinterColumns": [column.render() for column in resource.columns],
                    "schema": {"openAPIV3Schema": schema},
                }
            ],
        },
    }


class _NoAliasDumper(yaml.SafeDumper):
    """Writes shared sub-objects out in full: anchors (&id001) confuse reviewers and Helm."""

    def ignore_aliases(self, data: Any) -> bool:
        return True


def dump_yaml(document: Mapping[str, Any]) -> str:
    """Serialise a generated manifest the one way every generator here does."""
    header = "# Generated by `make generate` from ragline_operator; do not edit.\n"
    body = yaml.dump(
        dict(document), Dumper=_NoAliasDumper, sort_keys=True, width=100, allow_unicode=True
    )
    return header + body


def crd_documents() -> dict[str, str]:
    """``crds/<plural>.<group>.yaml`` for every kind."""
    return {
        f"crds/{resource.names.crd_name}.yaml": dump_yaml(crd(resource))
        for resource in CUSTOM_RESOURCES
    }
