"""Pieces every builder shares: names, labels, owner references, secure pods, env wiring.

Builders are pure: a frozen context in, a plain dict out, no API calls, no clock, no randomness.
Running one twice gives the same manifest, which is what makes reconciling idempotent.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from ragline_common.registry import REGISTRY_KEY
from ragline_operator.models.base import (
    API_VERSION,
    ComputeResources,
    ResourceRequirements,
    SecretKeySelector,
)
from ragline_operator.resources.env import HTTP_PORT, Service, env_name

Manifest = dict[str, Any]

MANAGER = "ragline-operator"
PART_OF = "ragline"
LABEL_NAME = "app.kubernetes.io/name"
LABEL_INSTANCE = "app.kubernetes.io/instance"
LABEL_COMPONENT = "app.kubernetes.io/component"
LABEL_PART_OF = "app.kubernetes.io/part-of"
LABEL_MANAGED_BY = "app.kubernetes.io/managed-by"
LABEL_OWNER_KIND = "ragline.dev/owner-kind"
LABEL_TENANT = "ragline.dev/tenant"
ANNOTATION_SECRETS_CHECKSUM = "ragline.dev/secrets-checksum"
HTTP_PORT_NAME = "http"
METRICS_PATH = "/metrics"
# Where pods find the tenant registry and the tenants' signing keys (ragline_common's defaults).
REGISTRY_MOUNT_DIR = "/etc/ragline/registry"
KEYS_MOUNT_DIR = "/etc/ragline/keys"
# One registry per namespace, shared by every TenantConfig in it.
REGISTRY_CONFIGMAP = "ragline-tenants"
# A non-root UID no base image assigns, so runAsNonRoot holds whatever the image says.
RUN_AS_USER = 10001
DEFAULT_REQUESTS = ComputeResources(cpu="50m", memory="128Mi")
DEFAULT_LIMITS = ComputeResources(memory="512Mi")


@dataclass(frozen=True)
class OwnerRef:
    """The custom resource a child belongs to."""

    kind: str
    name: str
    uid: str
    api_version: str = API_VERSION

    def reference(self, *, controller: bool = True) -> dict[str, Any]:
        """An ownerReferences entry; children go with their owner through garbage collection."""
        return {
            "apiVersion": self.api_version,
            "kind": self.kind,
            "name": self.name,
            "uid": self.uid,
            "controller": controller,
            "blockOwnerDeletion": controller,
        }


@dataclass(frozen=True)
class WorkloadImage:
    """The RAGline image every workload runs (services differ by command)."""

    image: str
    pull_policy: str = "IfNotPresent"


@dataclass(frozen=True)
class TenantKeyMount:
    """A tenant's signing-key Secret, mounted at ``<keys dir>/<tenantId>/<kid>``."""

    tenant_id: str
    secret_name: str


@dataclass(frozen=True)
class PodParts:
    """What differs between the pods of two workloads."""

    service: Service
    component: str
    owner: OwnerRef
    namespace: str
    image: WorkloadImage
    command: Sequence[str]
    env: Sequence[Mapping[str, Any]]
    secrets_checksum: str
    resources: ResourceRequirements | None = None
    volumes: Sequence[Mapping[str, Any]] = field(default=())
    mounts: Sequence[Mapping[str, Any]] = field(default=())
    serves_http: bool = True


def child_name(owner: OwnerRef, component: str) -> str:
    """``<owner>-<component>``: the owner name is capped by CEL, so this fits a DNS label."""
    return f"{owner.name}-{component}"


def short_hash(*parts: object) -> str:
    """A stable 8-hex digest of JSON-able parts (names of Jobs, volumes)."""
    payload = json.dumps(parts, sort_keys=True, default=str).encode()
    return hashlib.sha256(payload).hexdigest()[:8]


def selector_labels(owner: OwnerRef, component: str) -> dict[str, str]:
    """Labels a Deployment selects its pods by: immutable, so never add to them."""
    return {LABEL_NAME: f"ragline-{component}", LABEL_INSTANCE: owner.name}


def labels(owner: OwnerRef, component: str) -> dict[str, str]:
    """The recommended labels of every child."""
    return {
        **selector_labels(owner, component),
        LABEL_COMPONENT: component,
        LABEL_PART_OF: PART_OF,
        LABEL_MANAGED_BY: MANAGER,
        LABEL_OWNER_KIND: owner.kind.lower(),
    }


def object_meta(
    *,
    name: str,
    namespace: str,
    owner: OwnerRef,
    component: str,
    annotations: Mapping[str, str] | None = None,
) -> dict[str, Any]:
    """Metadata of a child owned (as controller) by ``owner``."""
    meta: dict[str, Any] = {
        "name": name,
        "namespace": namespace,
        "labels": labels(owner, component),
        "ownerReferences": [owner.reference()],
    }
    if annotations:
        meta["annotations"] = dict(annotations)
    return meta


def secret_env(name: str, ref: SecretKeySelector) -> dict[str, Any]:
    """An env var read from a Secret key; a missing key keeps the pod from starting."""
    return {"name": name, "valueFrom": {"secretKeyRef": {"name": ref.name, "key": ref.key}}}


def plain_env(service: Service, field_name: str, value: str | int | float | bool) -> dict[str, str]:
    """A literal env var for a listed settings field."""
    text = ("true" if value else "false") if isinstance(value, bool) else str(value)
    return {"name": env_name(service, field_name), "value": text}


def json_env(service: Service, field_name: str, value: object) -> dict[str, str]:
    """A JSON-encoded env var (pydantic-settings decodes complex fields from JSON)."""
    return {"name": env_name(service, field_name), "value": json.dumps(value, sort_keys=True)}


def secrets_checksum(values: Iterable[tuple[SecretKeySelector, bytes | None]]) -> str:
    """SHA-256 over the referenced Secret values; a changed value changes the pod template."""
    digest = hashlib.sha256()
    for ref, value in sorted(values, key=lambda item: (item[0].name, item[0].key)):
        digest.update(f"{ref.name}\0{ref.key}\0".encode())
        digest.update(hashlib.sha256(value or b"").digest())
    return digest.hexdigest()


def container_resources(spec: ResourceRequirements | None) -> dict[str, Any]:
    """Requests and limits, the spec's values over the operator's defaults."""
    requests = spec.requests if spec and spec.requests else DEFAULT_REQUESTS
    limits = spec.limits if spec and spec.limits else DEFAULT_LIMITS
    return {
        "requests": requests.model_dump(exclude_none=True),
        "limits": limits.model_dump(exclude_none=True),
    }


def tenant_key_volumes(tenants: Sequence[TenantKeyMount]) -> tuple[list[Manifest], list[Manifest]]:
    """Volumes and mounts for the registry ConfigMap and every tenant's key Secret.

    Both are ``optional`` so a pod starts before the first key exists; Kubernetes refreshes the
    files in place, so a key rotation needs no restart.
    """
    volumes: list[Manifest] = [
        {"name": "registry", "configMap": {"name": REGISTRY_CONFIGMAP, "optional": True}}
    ]
    mounts: list[Manifest] = [
        {"name": "registry", "mountPath": REGISTRY_MOUNT_DIR, "readOnly": True}
    ]
    for tenant in sorted(tenants, key=lambda t: t.tenant_id):
        volume = f"key-{short_hash(tenant.tenant_id)}"
        volumes.append(
            {"name": volume, "secret": {"secretName": tenant.secret_name, "optional": True}}
        )
        mounts.append(
            {"name": volume, "mountPath": f"{KEYS_MOUNT_DIR}/{tenant.tenant_id}", "readOnly": True}
        )
    return volumes, mounts


def tenant_auth_env(service: Service) -> list[dict[str, str]]:
    """Where the service reads the registry and keys mounted by :func:`tenant_key_volumes`."""
    return [
        plain_env(service, "registry_path", f"{REGISTRY_MOUNT_DIR}/{REGISTRY_KEY}"),
        plain_env(service, "keys_dir", KEYS_MOUNT_DIR),
    ]


def scrape_annotations() -> dict[str, str]:
    """prometheus.io annotations, set whether or not a ServiceMonitor exists."""
    return {
        "prometheus.io/scrape": "true",
        "prometheus.io/port": str(HTTP_PORT),
        "prometheus.io/path": METRICS_PATH,
    }
