"""The operator's least-privilege ClusterRole, generated from one list.

Each rule says why the operator needs it. The chart templates the generated ClusterRole; the e2e
tests run the operator under it, so a missing verb fails there, not in production.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ragline_operator.crdgen import crd_documents, dump_yaml
from ragline_operator.models import EVENTSTREAM, RAGPIPELINE, TENANTCONFIG
from ragline_operator.models.base import GROUP

CLUSTER_ROLE_NAME = "ragline-operator"
CLUSTER_ROLE_PATH = "manifests/rbac/clusterrole.yaml"
_OWN_PLURALS = (TENANTCONFIG.plural, EVENTSTREAM.plural, RAGPIPELINE.plural)
# Server-side apply is a PATCH; creating through apply needs `create` as well.
APPLY = ("get", "create", "patch")


@dataclass(frozen=True)
class Rule:
    """One PolicyRule and the reason it exists."""

    api_group: str
    resources: tuple[str, ...]
    verbs: tuple[str, ...]
    why: str

    def render(self) -> dict[str, Any]:
        """The PolicyRule shape."""
        return {
            "apiGroups": [self.api_group],
            "resources": list(self.resources),
            "verbs": list(self.verbs),
        }


RULES: tuple[Rule, ...] = (
    Rule(
        GROUP,
        _OWN_PLURALS,
        ("get", "list", "watch", "patch"),
        "watch the custom resources; Kopf patches its progress annotations",
    ),
    Rule(GROUP, tuple(f"{p}/status" for p in _OWN_PLURALS), ("get", "patch"), "write status"),
    Rule(
        GROUP,
        tuple(f"{p}/finalizers" for p in _OWN_PLURALS),
        ("update",),
        "set blockOwnerDeletion on children (OwnerReferencesPermissionEnforcement)",
    ),
    Rule(
        "",
        ("secrets",),
        (*APPLY, "list", "watch"),
        "generate signing keys; read referenced Secrets for checksums and broker/database "
        "addresses; watch them so a changed Secret rolls its pods at once; keep the cleanup "
        "ledger (patch, in the operator's namespace)",
    ),
    Rule(
        "",
        ("configmaps",),
        (*APPLY, "list", "watch"),
        "publish the tenant registry; read and watch source ConfigMaps to re-ingest on change",
    ),
    Rule("", ("services",), APPLY, "notifier, API, chat and metrics Services"),
    Rule("", ("pods",), ("list",), "read ingestion results from Job pods' termination messages"),
    Rule("", ("events",), ("create", "patch"), "report transitions as Kubernetes Events"),
    Rule("", ("namespaces",), ("list", "watch"), "Kopf: follow namespaces when cluster-wide"),
    Rule(
        "apps",
        ("deployments",),
        (*APPLY, "list", "watch"),
        "relay, notifier, API and chat Deployments; watched so a deleted or edited child heals",
    ),
    Rule(
        "apps",
        ("deployments/scale",),
        ("get", "patch"),
        "the lag scaler sets consumers' replicas (and nothing else) through the scale subresource",
    ),
    Rule(
        "apps",
        ("statefulsets/scale",),
        ("get", "patch"),
        "consumers run as StatefulSets: the lag scaler sets their replicas the same way",
    ),
    Rule(
        "batch",
        ("jobs",),
        (*APPLY, "list", "watch", "delete"),
        "migration and ingestion Jobs (watched for completion); superseded ones are deleted",
    ),
    Rule(
        "monitoring.coreos.com",
        ("servicemonitors",),
        (*APPLY, "delete"),
        "ServiceMonitors when the Prometheus Operator is installed (deleted when disabled)",
    ),
    Rule(
        "keda.sh",
        ("scaledobjects",),
        (*APPLY, "list", "delete"),
        "engine KEDA: a ScaledObject per scaled consumer group; listed and deleted when the "
        "engine, the consumers or autoscaling change (so two engines never scale one workload)",
    ),
    Rule(
        "keda.sh",
        ("triggerauthentications",),
        APPLY,
        "engine KEDA on a Redis URL with credentials: the trigger's authentication",
    ),
    Rule(
        "apiextensions.k8s.io",
        ("customresourcedefinitions",),
        ("list", "watch"),
        "Kopf: notice CRDs installed after start (e.g. ServiceMonitor)",
    ),
)


def cluster_role() -> dict[str, Any]:
    """The ClusterRole manifest."""
    return {
        "apiVersion": "rbac.authorization.k8s.io/v1",
        "kind": "ClusterRole",
        "metadata": {
            "name": CLUSTER_ROLE_NAME,
            "labels": {"app.kubernetes.io/part-of": "ragline"},
        },
        "rules": [rule.render() for rule in RULES],
    }


def operator_manifests() -> dict[str, str]:
    """Every file the operator's sources generate: the CRDs and the ClusterRole."""
    return {**crd_documents(), CLUSTER_ROLE_PATH: dump_yaml(cluster_role())}
