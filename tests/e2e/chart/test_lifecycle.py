"""helm install / upgrade / uninstall and the kustomize install, on a real control plane.

Pods are kwok's: they become Running and Ready without an image being pulled, so "Ready" here means
the API server accepted the Deployment, the scheduler placed its pod and the ReplicaSet counted it,
not that the operator's code ran (the operator's own e2e tests run it as a local process).
"""

from __future__ import annotations

import itertools
import json
import uuid
from typing import Any

import pytest
import yaml

from ragline_dev.chart.install import NAMESPACE, OPERATOR
from ragline_dev.paths import REPO_ROOT
from ragline_operator.models import TenantConfigSpec
from ragline_operator.rbac import RULES
from tests.e2e.chart.conftest import CHART, CRD_NAMES, ChartCluster, eventually

pytestmark = pytest.mark.e2e

INSTALL_DIR = REPO_ROOT / "manifests" / "install"
TENANT = {
    "apiVersion": "ragline.dev/v1alpha1",
    "kind": "TenantConfig",
    "metadata": {"name": "acme"},
}


def _deployment_ready(
    cluster: ChartCluster, namespace: str, name: str, generation: int = 1
) -> bool:
    result = cluster.kube.run("get", "deployment", name, "-n", namespace, "-o", "json")
    if result.returncode != 0:
        return False
    status: dict[str, Any] = yaml.safe_load(result.stdout)["status"]
    return (
        status.get("observedGeneration", 0) >= generation
        and status.get("readyReplicas") == 1
        and status.get("updatedReplicas") == 1
        and status.get("replicas") == 1
    )


def _operator_env(cluster: ChartCluster, namespace: str, name: str) -> dict[str, str]:
    deployment = cluster.kube.json("get", "deployment", name, "-n", namespace)
    container = deployment["spec"]["template"]["spec"]["containers"][0]
    return {e["name"]: e.get("value", "") for e in container["env"]}


def _tenant(cluster: ChartCluster, namespace: str) -> None:
    """A TenantConfig with the smallest spec the operator's model accepts."""
    spec = TenantConfigSpec.model_validate({"tenantId": "acme"})
    tenant = dict(TENANT, spec=spec.model_dump(by_alias=True, exclude_defaults=True))
    cluster.kube.apply(tenant, namespace=namespace)


def _may(cluster: ChartCluster, user: str, verb: str, group: str, resource: str) -> bool:
    """Ask the API server's authorizer whether ``user`` may ``verb`` ``resource`` anywhere."""
    plural, _, sub = resource.partition("/")
    review = {
        "apiVersion": "authorization.k8s.io/v1",
        "kind": "SubjectAccessReview",
        "spec": {
            "user": user,
            "resourceAttributes": {
                "verb": verb,
                "group": group,
                "resource": plural,
                "subresource": sub,
            },
        },
    }
    answer = json.loads(
        cluster.kube.check("create", "-o", "json", "-f", "-", stdin=json.dumps(review))
    )
    return bool(answer["status"].get("allowed"))


def test_install_upgrade_uninstall_keeps_the_crds(no_crds: ChartCluster) -> None:
    cluster = no_crds
    release, namespace = f"r{uuid.uuid4().hex[:6]}", f"ragline-{uuid.uuid4().hex[:6]}"
    operator = f"{release}-ragline-operator"

    cluster.helm(
        "install",
        release,
        str(CHART),
        "-n",
        namespace,
        "--create-namespace",
        "--wait",
        "--timeout",
        "90s",
    )
    cluster.wait_established()
    eventually(lambda: _deployment_ready(cluster, namespace, operator), "the operator is Ready")
    pod = cluster.kube.json(
        "get", "pods", "-n", namespace, "-l", "app.kubernetes.io/component=operator"
    )["items"][0]
    assert pod["spec"]["serviceAccountName"] == operator
    assert pod["spec"]["containers"][0]["securityContext"]["readOnlyRootFilesystem"] is True

    # The ServiceAccount holds exactly what the operator's rule list grants, nothing more. Asked
    # as SubjectAccessReviews naming group and resource: `kubectl auth can-i` answers "no" for a
    # type the server does not serve yet (KEDA's, before KEDA is installed).
    account = f"system:serviceaccount:{namespace}:{operator}"
    for rule in RULES:
        for resource, verb in itertools.product(rule.resources, rule.verbs):
            assert _may(cluster, account, verb, rule.api_group, resource), (
                f"{account} cannot {verb} {resource}"
            )
    for verb, group, resource in (
        ("delete", "", "secrets"),
        ("create", "rbac.authorization.k8s.io", "clusterroles"),
        ("delete", "apiextensions.k8s.io", "customresourcedefinitions"),
        ("update", "apps", "deployments/scale"),
    ):
        assert not _may(cluster, account, verb, group, resource), f"{account} may {verb} {resource}"

    _tenant(cluster, namespace)

    cluster.helm(
        "upgrade",
        release,
        str(CHART),
        "-n",
        namespace,
        "--reuse-values",
        "--set",
        "operator.config.resyncSeconds=30",
        "--set",
        "operator.logLevel=verbose",
        "--wait",
        "--timeout",
        "90s",
    )
    assert _operator_env(cluster, namespace, operator)["RAGLINE_OPERATOR_RESYNC_SECONDS"] == "30"
    eventually(
        lambda: _deployment_ready(cluster, namespace, operator, generation=2),
        "the upgraded operator is Ready",
    )
    history = cluster.helm("history", release, "-n", namespace, "-o", "json").stdout
    assert [entry["status"] for entry in yaml.safe_load(history)] == ["superseded", "deployed"]

    cluster.helm("uninstall", release, "-n", namespace, "--wait", "--timeout", "90s")
    for kind in ("deployment", "serviceaccount"):
        assert cluster.kube.run("get", kind, operator, "-n", namespace).returncode != 0
    assert cluster.kube.run("get", "clusterrole", operator).returncode != 0
    # crds.keep: the CRDs, and so the tenant, survive the release.
    assert cluster.crds_present() == set(CRD_NAMES)
    assert cluster.kube.run("get", "tenantconfig", "acme", "-n", namespace).returncode == 0
    cluster.kube.run("delete", "namespace", namespace, "--wait=false")


def test_uninstall_without_keep_removes_the_crds(no_crds: ChartCluster) -> None:
    cluster = no_crds
    release, namespace = f"r{uuid.uuid4().hex[:6]}", f"ragline-{uuid.uuid4().hex[:6]}"
    cluster.helm(
        "install",
        release,
        str(CHART),
        "-n",
        namespace,
        "--create-namespace",
        "--set",
        "crds.keep=false",
        "--wait",
        "--timeout",
        "90s",
    )
    assert cluster.crds_present() == set(CRD_NAMES)
    cluster.helm("uninstall", release, "-n", namespace, "--wait", "--timeout", "90s")
    eventually(lambda: not cluster.crds_present(), "the CRDs are gone with the release")
    cluster.kube.run("delete", "namespace", namespace, "--wait=false")


def test_upgrade_turns_crd_management_off_without_deleting_them(no_crds: ChartCluster) -> None:
    cluster = no_crds
    release, namespace = f"r{uuid.uuid4().hex[:6]}", f"ragline-{uuid.uuid4().hex[:6]}"
    cluster.helm("install", release, str(CHART), "-n", namespace, "--create-namespace", "--wait")
    cluster.helm(
        "upgrade", release, str(CHART), "-n", namespace, "--set", "crds.enabled=false", "--wait"
    )
    # Kept resources are never deleted by Helm, not even when a template stops rendering them.
    assert cluster.crds_present() == set(CRD_NAMES)
    cluster.helm("uninstall", release, "-n", namespace, "--wait")
    cluster.kube.run("delete", "namespace", namespace, "--wait=false")


def _without_helm(document: dict[str, Any]) -> dict[str, Any]:
    """An object as the kustomize install has it: no Helm labels, no resource policy."""
    for meta in (
        document["metadata"],
        document.get("spec", {}).get("template", {}).get("metadata"),
    ):
        if meta is None:
            continue
        labels = meta.get("labels", {})
        for key in ("helm.sh/chart", "app.kubernetes.io/managed-by"):
            labels.pop(key, None)
        meta.get("annotations", {}).pop("helm.sh/resource-policy", None)
        if "annotations" in meta and not meta["annotations"]:
            del meta["annotations"]
    return document


def _key(document: dict[str, Any]) -> tuple[str, str]:
    return document["kind"], document["metadata"]["name"]


def test_kustomize_install_is_the_chart_defaults(chart_cluster: ChartCluster) -> None:
    helm_objects = {
        _key(doc): _without_helm(doc)
        for doc in yaml.safe_load_all(chart_cluster.template(namespace=NAMESPACE))
        if doc
    }
    kustomized = chart_cluster.kube.check("kustomize", str(INSTALL_DIR))
    kustomize_objects = {_key(doc): doc for doc in yaml.safe_load_all(kustomized) if doc}
    namespace = kustomize_objects.pop(("Namespace", NAMESPACE))
    assert namespace["metadata"]["labels"]["app.kubernetes.io/part-of"] == "ragline"
    assert set(kustomize_objects) == set(helm_objects)
    for key, document in kustomize_objects.items():
        assert document == helm_objects[key], f"{key} differs between the chart and kustomize"


def test_kubectl_apply_k_installs_the_operator(no_crds: ChartCluster) -> None:
    cluster = no_crds
    applied = cluster.kube.check("apply", "-k", str(INSTALL_DIR))
    assert f"deployment.apps/{OPERATOR} created" in applied
    cluster.wait_established()
    eventually(lambda: _deployment_ready(cluster, NAMESPACE, OPERATOR), "the operator is Ready")
    # Applying again changes nothing: the install is declarative.
    again = cluster.kube.check("apply", "-k", str(INSTALL_DIR))
    assert all(line.endswith("unchanged") for line in again.strip().splitlines()), again
    # CRDs finish deleting only once their custom resources are gone (an earlier test may have
    # left one): do not wait for them here, the install's own objects are what this checks.
    cluster.kube.check("delete", "-k", str(INSTALL_DIR), "--wait=false")
    eventually(
        lambda: cluster.kube.run("get", "clusterrole", OPERATOR).returncode != 0,
        "the ClusterRole is deleted",
    )
    eventually(
        lambda: cluster.kube.run("get", "deployment", OPERATOR, "-n", NAMESPACE).returncode != 0,
        "the operator Deployment is deleted",
    )
