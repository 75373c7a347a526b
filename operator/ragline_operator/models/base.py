"""Building blocks shared by the three custom resources' models.

Every model here is also a schema: :mod:`ragline_operator.crdgen` turns the Pydantic JSON schema
into the CRD's structural OpenAPI schema, so a field's ``description`` is what ``kubectl explain``
prints and its constraints are what the API server enforces. Rules that span fields or compare an
update with the stored object are CEL (``x-kubernetes-validations``), attached with :func:`cel`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field
from pydantic.alias_generators import to_camel

GROUP = "ragline.dev"
VERSION = "v1alpha1"
API_VERSION = f"{GROUP}/{VERSION}"
CATEGORY = "ragline"

# Go-style durations (what CEL's duration() parses), so rules can compare them.
DURATION_PATTERN = r"^([0-9]+(ms|s|m|h))+$"
# Retention also takes days, the unit Kafka users think in; it is never compared in CEL.
RETENTION_PATTERN = r"^[0-9]+(ms|s|m|h|d)$"
DNS_LABEL_PATTERN = r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$"
DNS_SUBDOMAIN_PATTERN = r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$"
SECRET_KEY_PATTERN = r"^[-._a-zA-Z0-9]+$"  # noqa: S105 - a pattern, not a secret
# metav1.Condition's own validation, so our status passes the same checks as built-in types.
CONDITION_TYPE_PATTERN = (
    r"^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*/)?"
    r"(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])$"
)
CONDITION_REASON_PATTERN = r"^[A-Za-z]([A-Za-z0-9_,:]*[A-Za-z0-9_])?$"
# Bounded status: lists an operator keeps in status never grow past this.
MAX_STATUS_ITEMS = 16

Duration = Annotated[str, Field(pattern=DURATION_PATTERN, max_length=32)]
Retention = Annotated[str, Field(pattern=RETENTION_PATTERN, max_length=16)]
DnsLabel = Annotated[str, Field(pattern=DNS_LABEL_PATTERN, min_length=1, max_length=63)]
ObjectName = Annotated[str, Field(pattern=DNS_SUBDOMAIN_PATTERN, min_length=1, max_length=253)]


def cel(
    rule: str,
    message: str,
    *,
    field_path: str | None = None,
    reason: str | None = None,
) -> dict[str, str]:
    """One ``x-kubernetes-validations`` entry; ``message`` should name the field it is about."""
    entry = {"rule": rule, "message": message}
    if field_path is not None:
        entry["fieldPath"] = field_path
    if reason is not None:
        entry["reason"] = reason
    return entry


def validations(*rules: dict[str, str]) -> dict[str, Any]:
    """``json_schema_extra`` carrying CEL rules, for a ``Field`` or a model's config."""
    return {"x-kubernetes-validations": list(rules)}


def immutable(field: str) -> dict[str, Any]:
    """A transition rule that refuses any change of the field once set."""
    return validations(
        cel("self == oldSelf", f"{field} is immutable once set", reason="FieldValueForbidden")
    )


def list_extensions(list_type: Literal["atomic", "set", "map"], *keys: str) -> dict[str, Any]:
    """``x-kubernetes-list-type`` (and map keys), so server-side apply merges lists correctly."""
    extra: dict[str, Any] = {"x-kubernetes-list-type": list_type}
    if keys:
        extra["x-kubernetes-list-map-keys"] = list(keys)
    return extra


def int_or_string() -> dict[str, Any]:
    """Schema extra for quantities that users write as ``1`` or ``"500m"``."""
    return {"x-kubernetes-int-or-string": True}


def parse_duration(text: str) -> timedelta:
    """Parse a :data:`Duration` (``1h30m``, ``250ms``) or a :data:`Retention` (``7d``)."""
    units = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0}
    parts = re.findall(r"([0-9]+)(ms|s|m|h|d)", text)
    if not parts or "".join(n + u for n, u in parts) != text:
        raise ValueError(f"not a duration: {text!r} (examples: 250ms, 15s, 5m, 1h30m)")
    return timedelta(seconds=sum(int(number) * units[unit] for number, unit in parts))


def format_time(moment: datetime) -> str:
    """RFC 3339 in UTC at second precision, as Kubernetes writes metav1.Time."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_time(text: str) -> datetime:
    """Inverse of :func:`format_time` (also accepts offsets and fractions)."""
    return datetime.fromisoformat(text.replace("Z", "+00:00")).astimezone(UTC)


class SpecModel(BaseModel):
    """Base of everything a user writes: camelCase on the wire, unknown fields refused."""

    model_config = ConfigDict(
        alias_generator=to_camel,
        populate_by_name=True,
        extra="forbid",
        frozen=True,
    )


class StatusModel(BaseModel):
    """Base of everything the operator writes into status; tolerant of fields it no longer knows."""

    model_config = ConfigDict(
        alias_generator=to_camel, populate_by_name=True, extra="ignore", frozen=True
    )


class SecretKeySelector(SpecModel):
    """A key of a Secret in the same namespace as the resource."""

    name: ObjectName = Field(description="Name of the Secret (same namespace).")
    key: str = Field(
        pattern=SECRET_KEY_PATTERN,
        min_length=1,
        max_length=253,
        description="Key inside the Secret's data.",
    )


class SecretValue(SpecModel):
    """A value read from a Secret; values that may carry credentials are never written inline."""

    secret_key_ref: SecretKeySelector = Field(
        description="The Secret key holding the value; workloads get it through env secretKeyRef."
    )


class LocalObjectReference(SpecModel):
    """A reference to an object of a known kind in the same namespace."""

    name: ObjectName = Field(description="Name of the object (same namespace).")


class ComputeResources(SpecModel):
    """CPU and memory of one container, as Kubernetes quantities."""

    cpu: str | int | None = Field(
        default=None,
        description="CPU quantity, e.g. 100m or 1.",
        json_schema_extra=int_or_string(),
    )
    memory: str | int | None = Field(
        default=None,
        description="Memory quantity, e.g. 256Mi.",
        json_schema_extra=int_or_string(),
    )


class ResourceRequirements(SpecModel):
    """Requests and limits of a component's container; unset values use the operator's defaults."""

    requests: ComputeResources | None = Field(default=None, description="Minimum guaranteed.")
    limits: ComputeResources | None = Field(default=None, description="Hard ceiling.")


class ServiceMonitorMode(StrEnum):
    """Whether to create a Prometheus Operator ServiceMonitor."""

    AUTO = "Auto"
    ENABLED = "Enabled"
    DISABLED = "Disabled"


class MonitoringSpec(SpecModel):
    """How Prometheus finds the workloads' /metrics."""

    service_monitor: ServiceMonitorMode = Field(
        default=ServiceMonitorMode.AUTO,
        description=(
            "Auto: a ServiceMonitor when the monitoring.coreos.com/v1 API exists; Enabled: the "
            "same, but report MonitoringReady=False while it does not; Disabled: prometheus.io "
            "annotations only (they are always set)."
        ),
    )
    labels: dict[str, str] = Field(
        default_factory=dict,
        max_length=16,
        description="Extra labels on the ServiceMonitor, e.g. the release your Prometheus selects.",
    )


class DeletionPolicy(StrEnum):
    """What happens outside Kubernetes when a resource is deleted."""

    RETAIN = "Retain"
    DELETE = "Delete"


class ConditionStatus(StrEnum):
    """metav1.ConditionStatus."""

    TRUE = "True"
    FALSE = "False"
    UNKNOWN = "Unknown"


class Condition(StatusModel):
    """One observation in the metav1.Condition shape."""

    type: str = Field(
        pattern=CONDITION_TYPE_PATTERN, max_length=316, description="Condition type (CamelCase)."
    )
    status: ConditionStatus = Field(description="True, False or Unknown.")
    observed_generation: int | None = Field(
        default=None, ge=0, description="metadata.generation this condition was computed from."
    )
    last_transition_time: str = Field(
        json_schema_extra={"format": "date-time"},
        description="When the status last changed (not when the message did).",
    )
    reason: str = Field(
        pattern=CONDITION_REASON_PATTERN,
        min_length=1,
        max_length=1024,
        description="CamelCase reason for the last transition.",
    )
    message: str = Field(max_length=32768, description="Human-readable details.")


Conditions = Annotated[
    list[Condition],
    Field(
        default_factory=list,
        max_length=MAX_STATUS_ITEMS,
        description="Ready, Progressing, Degraded and the kind's domain conditions.",
        json_schema_extra=list_extensions("map", "type"),
    ),
]


@dataclass(frozen=True)
class ResourceKind:
    """Names of one custom resource, shared by the CRD generator, RBAC and the handlers."""

    kind: str
    plural: str
    short_name: str

    @property
    def singular(self) -> str:
        """The lower-case singular name."""
        return self.kind.lower()

    @property
    def crd_name(self) -> str:
        """``<plural>.<group>``, the CRD's own name."""
        return f"{self.plural}.{GROUP}"
