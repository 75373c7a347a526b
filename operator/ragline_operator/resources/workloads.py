"""Generic Deployment, Job, Service and ServiceMonitor shapes with secure pod defaults."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ragline_operator.resources.common import (
    ANNOTATION_SECRETS_CHECKSUM,
    HTTP_PORT_NAME,
    LABEL_INSTANCE,
    LABEL_OWNER_KIND,
    LABEL_PART_OF,
    METRICS_PATH,
    PART_OF,
    RUN_AS_USER,
    Manifest,
    OwnerRef,
    PodParts,
    child_name,
    container_resources,
    labels,
    object_meta,
    plain_env,
    scrape_annotations,
    selector_labels,
)
from ragline_operator.resources.env import HTTP_PORT, LISTENS_BY_SETTINGS, POD_BIND_ADDRESS

# Jobs: a few retries cover a database that is still starting; more would hide a real failure.
JOB_BACKOFF_LIMIT = 4
# Pods get time to drain SSE connections and flush batches before SIGKILL.
TERMINATION_GRACE_SECONDS = 30
PROBE_PERIOD_SECONDS = 10
SERVICE_MONITOR_INTERVAL = "30s"
TERMINATION_MESSAGE_PATH = "/dev/termination-log"

POD_SECURITY_CONTEXT: Mapping[str, Any] = {
    "runAsNonRoot": True,
    "runAsUser": RUN_AS_USER,
    "runAsGroup": RUN_AS_USER,
    "fsGroup": RUN_AS_USER,
    "seccompProfile": {"type": "RuntimeDefault"},
}
CONTAINER_SECURITY_CONTEXT: Mapping[str, Any] = {
    "allowPrivilegeEscalation": False,
    "readOnlyRootFilesystem": True,
    "runAsNonRoot": True,
    "capabilities": {"drop": ["ALL"]},
    "seccompProfile": {"type": "RuntimeDefault"},
}


def _probes() -> dict[str, Any]:
    return {
        "livenessProbe": {
            "httpGet": {"path": "/healthz", "port": HTTP_PORT_NAME},
            "periodSeconds": PROBE_PERIOD_SECONDS,
            "failureThreshold": 3,
        },
        "readinessProbe": {
            "httpGet": {"path": "/readyz", "port": HTTP_PORT_NAME},
            "periodSeconds": PROBE_PERIOD_SECONDS,
            "failureThreshold": 2,
        },
    }


def container(parts: PodParts, *, name: str) -> Manifest:
    """The one container of a RAGline pod."""
    env = [*parts.env]
    spec: Manifest = {
        "name": name,
        "image": parts.image.image,
        "imagePullPolicy": parts.image.pull_policy,
        "command": list(parts.command),
        "env": env,
        "resources": container_resources(parts.resources),
        "securityContext": dict(CONTAINER_SECURITY_CONTEXT),
        "terminationMessagePath": TERMINATION_MESSAGE_PATH,
        "terminationMessagePolicy": "FallbackToLogsOnError",
        # A read-only root filesystem still needs somewhere for temporary files.
        "volumeMounts": [{"name": "tmp", "mountPath": "/tmp"}, *parts.mounts],  # noqa: S108
    }
    if parts.serves_http:
        if parts.service in LISTENS_BY_SETTINGS:
            env.append(plain_env(parts.service, "host", POD_BIND_ADDRESS))
            env.append(plain_env(parts.service, "port", HTTP_PORT))
        spec["ports"] = [{"name": HTTP_PORT_NAME, "containerPort": HTTP_PORT, "protocol": "TCP"}]
        spec.update(_probes())
    return spec


def pod_template(parts: PodParts, *, restart_policy: str = "Always") -> Manifest:
    """A pod template: checksum and scrape annotations, hardened security, no API token."""
    annotations = {ANNOTATION_SECRETS_CHECKSUM: parts.secrets_checksum}
    if parts.serves_http:
        annotations.update(scrape_annotations())
    return {
        "metadata": {"labels": labels(parts.owner, parts.component), "annotations": annotations},
        "spec": {
            "automountServiceAccountToken": False,
            "enableServiceLinks": False,
            "restartPolicy": restart_policy,
            "terminationGracePeriodSeconds": TERMINATION_GRACE_SECONDS,
            "securityContext": dict(POD_SECURITY_CONTEXT),
            "containers": [container(parts, name=parts.component)],
            "volumes": [{"name": "tmp", "emptyDir": {}}, *parts.volumes],
        },
    }


def deployment(parts: PodParts, *, replicas: int | None) -> Manifest:
    """A Deployment; ``replicas`` None leaves the field to another writer (the autoscaler)."""
    spec: Manifest = {
        "selector": {"matchLabels": selector_labels(parts.owner, parts.component)},
        "revisionHistoryLimit": 3,
        "strategy": {
            "type": "RollingUpdate",
            "rollingUpdate": {"maxUnavailable": 0, "maxSurge": 1},
        },
        "template": pod_template(parts),
    }
    if replicas is not None:
        spec["replicas"] = replicas
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": object_meta(
            name=child_name(parts.owner, parts.component),
            namespace=parts.namespace,
            owner=parts.owner,
            component=parts.component,
        ),
        "spec": spec,
    }


def job(parts: PodParts, *, name: str) -> Manifest:
    """A run-to-completion Job; its name carries a hash of its inputs (templates are immutable)."""
    template = pod_template(parts, restart_policy="Never")
    return {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": object_meta(
            name=name, namespace=parts.namespace, owner=parts.owner, component=parts.component
        ),
        "spec": {"backoffLimit": JOB_BACKOFF_LIMIT, "template": template},
    }


def service(owner: OwnerRef, *, namespace: str, component: str, headless: bool = False) -> Manifest:
    """A Service in front of one component's pods, port ``http``."""
    spec: Manifest = {
        "type": "ClusterIP",
        "selector": selector_labels(owner, component),
        "ports": [
            {
                "name": HTTP_PORT_NAME,
                "port": HTTP_PORT,
                "targetPort": HTTP_PORT_NAME,
                "protocol": "TCP",
            }
        ],
    }
    if headless:
        spec["clusterIP"] = "None"
    name = child_name(owner, component if not headless else f"{component}-metrics")
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": object_meta(name=name, namespace=namespace, owner=owner, component=component),
        "spec": spec,
    }


def service_url(owner: OwnerRef, *, namespace: str, component: str) -> str:
    """In-cluster base URL of :func:`service`."""
    return f"http://{child_name(owner, component)}.{namespace}.svc:{HTTP_PORT}"


def service_monitor(
    owner: OwnerRef, *, namespace: str, extra_labels: Mapping[str, str]
) -> Manifest:
    """A ServiceMonitor scraping every Service the owner has (all serve /metrics on ``http``)."""
    meta = object_meta(
        name=child_name(owner, "metrics"), namespace=namespace, owner=owner, component="metrics"
    )
    meta["labels"] = {**extra_labels, **meta["labels"]}
    return {
        "apiVersion": "monitoring.coreos.com/v1",
        "kind": "ServiceMonitor",
        "metadata": meta,
        "spec": {
            "selector": {
                "matchLabels": {
                    LABEL_INSTANCE: owner.name,
                    LABEL_PART_OF: PART_OF,
                    LABEL_OWNER_KIND: owner.kind.lower(),
                }
            },
            "namespaceSelector": {"matchNames": [namespace]},
            "endpoints": [
                {
                    "port": HTTP_PORT_NAME,
                    "path": METRICS_PATH,
                    "interval": SERVICE_MONITOR_INTERVAL,
                }
            ],
        },
    }
