"""Engine KEDA on the real control plane: the operator (under its generated RBAC) emits
ScaledObjects once KEDA's CRDs exist, and leaves the consumers' replicas to them.

No KEDA controller runs here (it would need a metrics adapter and real pods): a minimal
``keda.sh/v1alpha1`` CRD stands in for its API, which is all the operator looks at.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from ragline_dev import procs
from ragline_dev.infra import PartState
from ragline_dev.infra.kube import Kubectl
from ragline_dev.operator_part import install_crds, install_rbac, issue_token, start_operator
from tests.e2e.operator.support import E2E_SETTINGS, conditions, eventually, never, resource
from tests.e2e.scaling.conftest import consumer_deployment, replicas, secret
from tests.e2e.scaling.test_scaler import fill

pytestmark = [pytest.mark.e2e]

KEDA_KINDS = (
    ("ScaledObject", "scaledobjects"),
    ("TriggerAuthentication", "triggerauthentications"),
)


def keda_crd(kind: str, plural: str) -> dict[str, Any]:
    return {
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": {"name": f"{plural}.keda.sh"},
        "spec": {
            "group": "keda.sh",
            "scope": "Namespaced",
            "names": {"kind": kind, "plural": plural, "singular": kind.lower()},
            "versions": [
                {
                    "name": "v1alpha1",
                    "served": True,
                    "storage": True,
                    "subresources": {"status": {}},
                    "schema": {
                        "openAPIV3Schema": {
                            "type": "object",
                            "x-kubernetes-preserve-unknown-fields": True,
                        }
                    },
                }
            ],
        },
    }


@pytest.fixture
def control_plane(kube: Kubectl) -> Kubectl:
    install_crds(kube)
    install_rbac(kube)
    return kube


@pytest.fixture
def keda(control_plane: Kubectl) -> Iterator[None]:
    """Install KEDA's CRDs (call the fixture's value); they are removed after the test."""
    yield
    for _, plural in KEDA_KINDS:
        control_plane.run("delete", "crd", f"{plural}.keda.sh", "--ignore-not-found")


def install_keda(kube: Kubectl) -> None:
    kube.apply(*(keda_crd(kind, plural) for kind, plural in KEDA_KINDS))
    names = [f"crd/{plural}.keda.sh" for _, plural in KEDA_KINDS]
    kube.check("wait", "--for=condition=Established", "--timeout=30s", *names)


@pytest.fixture
def operator(control_plane: Kubectl, namespace: str, tmp_path: Path) -> Iterator[Path]:
    """The operator, watching only this test's namespace, rediscovering APIs every second."""
    kubeconfig = tmp_path / "operator.kubeconfig"
    control_plane.with_token(issue_token(control_plane), kubeconfig)
    log = tmp_path / "operator.log"
    proc = start_operator(
        kubeconfig=kubeconfig,
        log=log,
        liveness_port=procs.free_port(),
        settings={**E2E_SETTINGS, "discovery_ttl_seconds": "1", "resync_seconds": "2"},
        namespaces=(namespace,),
    )
    try:
        yield log
    finally:
        procs.stop(proc.pid)


def keda_stream(stream: str, worker: str) -> dict[str, Any]:
    return {
        "apiVersion": "ragline.dev/v1alpha1",
        "kind": "EventStream",
        "metadata": {"name": "orders"},
        "spec": {
            "backend": {
                "type": "Redis",
                "redis": {
                    "url": {"secretKeyRef": {"name": "broker", "key": "url"}},
                    "stream": stream,
                },
            },
            "outbox": {"database": {"secretKeyRef": {"name": "db", "key": "dsn"}}},
            "consumers": [{"group": "billing", "workloadRef": {"name": worker}}],
            "autoscaling": {
                "engine": "KEDA",
                "minReplicas": 1,
                "maxReplicas": 6,
                "lagPerReplica": 10,
                "pollInterval": "1s",
                "scaleDownStabilization": "30s",
            },
        },
    }


async def test_engine_keda_waits_for_keda_then_emits_a_scaled_object_and_leaves_replicas(
    control_plane: Kubectl,
    namespace: str,
    redis_url: str,
    postgres: PartState,
    keda: None,
    operator: Path,
) -> None:
    kube = control_plane
    worker = consumer_deployment("billing-worker")
    worker["spec"]["replicas"] = 2
    kube.apply(
        secret("broker", url=redis_url),
        secret("db", dsn=postgres.endpoints["dsn"]),
        worker,
        namespace=namespace,
    )
    stream = f"keda-{namespace}"
    kube.apply(keda_stream(stream, "billing-worker"), namespace=namespace)

    def scaling(status: str, reason: str) -> dict[str, Any] | None:
        found = resource(kube, "eventstream", "orders", namespace)
        condition = conditions(found).get("ScalingActive")
        if condition and (condition["status"], condition["reason"]) == (status, reason):
            return condition
        return None

    missing = eventually(
        lambda: scaling("False", "KEDANotInstalled"),
        "ScalingActive=False KEDANotInstalled while KEDA is absent",
    )
    assert "keda.sh/v1alpha1" in missing["message"]
    # A backlog far above the threshold: nobody may scale for it while KEDA is missing.
    await fill(redis_url, stream, 200)
    never(
        lambda: replicas(kube, namespace, "billing-worker") != 2,
        "replicas changed without KEDA",
        for_seconds=3,
    )

    install_keda(kube)  # later, without restarting the operator
    scaled = eventually(
        lambda: resource(kube, "scaledobject", "orders-billing-worker", namespace),
        "the ScaledObject is created once KEDA's CRD exists",
    )
    eventually(
        lambda: scaling("True", "KEDAScaledObjects"),
        "ScalingActive=True KEDAScaledObjects",
    )
    spec = scaled["spec"]
    assert spec["scaleTargetRef"] == {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "name": "billing-worker",
    }
    assert (spec["minReplicaCount"], spec["maxReplicaCount"]) == (1, 6)
    assert spec["pollingInterval"] == 1
    (trigger,) = spec["triggers"]
    assert trigger["type"] == "redis-streams"
    host_port = redis_url.split("//", 1)[1].split("/", 1)[0].rsplit("@", 1)[-1]
    assert trigger["metadata"]["address"] == host_port
    assert trigger["metadata"]["stream"] == stream
    assert trigger["metadata"]["consumerGroup"] == "billing"
    assert trigger["metadata"]["lagCount"] == "10"
    (owner,) = scaled["metadata"]["ownerReferences"]
    assert (owner["kind"], owner["name"]) == ("EventStream", "orders")

    # KEDA owns replicas now: the builtin scaler must not act on the 200-entry backlog.
    never(
        lambda: replicas(kube, namespace, "billing-worker") != 2,
        "the builtin scaler wrote replicas of a KEDA-scaled workload",
        for_seconds=4,
    )
    managers = kube.json(
        "get", "deployment", "billing-worker", "-n", namespace, "--show-managed-fields"
    )
    assert "ragline-scaler" not in json.dumps(managers["metadata"].get("managedFields"))

    # Back to Builtin: the ScaledObject goes, and the builtin scaler takes over.
    kube.check(
        "patch", "eventstream", "orders", "-n", namespace, "--type=merge",
        "-p", json.dumps({"spec": {"autoscaling": {"engine": "Builtin"}}}),
    )  # fmt: skip
    eventually(
        lambda: resource(kube, "scaledobject", "orders-billing-worker", namespace) is None,
        "the ScaledObject is deleted when the engine is Builtin",
    )
    eventually(
        lambda: replicas(kube, namespace, "billing-worker") == 6,
        "the builtin scaler scales the backlog (200 / 10 per replica, capped at 6)",
    )
