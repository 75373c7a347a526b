"""The chart lints clean, renders for every ci values file, and the API server accepts it."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from ragline_operator.crdgen import CUSTOM_RESOURCES, crd
from ragline_operator.rbac import cluster_role
from ragline_operator.settings import OperatorConfig
from tests.e2e.chart.conftest import (
    CHART,
    CI_VALUES,
    ChartCluster,
    by_kind,
    ci_values_id,
    documents,
)

pytestmark = pytest.mark.e2e

# Kinds each ci values file must render (and only these), so a gate that stops working shows.
EXPECTED_KINDS = {
    "default": {
        "ServiceAccount",
        "CustomResourceDefinition",
        "ClusterRole",
        "ClusterRoleBinding",
        "Deployment",
    },
    "dev": {
        "ServiceAccount",
        "CustomResourceDefinition",
        "ClusterRole",
        "ClusterRoleBinding",
        "Deployment",
    },
    "kind": {
        "ServiceAccount",
        "CustomResourceDefinition",
        "ClusterRole",
        "ClusterRoleBinding",
        "Deployment",
    },
    "minimal": {"Deployment"},
    "full": {
        "ServiceAccount",
        "CustomResourceDefinition",
        "ClusterRole",
        "ClusterRoleBinding",
        "Deployment",
        "Service",
        "ServiceMonitor",
        "NetworkPolicy",
    },
}


def _operator(rendered: str) -> dict[str, Any]:
    (deployment,) = by_kind(rendered)["Deployment"]
    container: dict[str, Any] = deployment["spec"]["template"]["spec"]["containers"][0]
    return container


def test_every_ci_values_file_is_known() -> None:
    assert {ci_values_id(path) for path in CI_VALUES} == set(EXPECTED_KINDS)


@pytest.mark.parametrize(
    "values", [None, *CI_VALUES], ids=lambda p: ci_values_id(p) if p else "chart"
)
def test_helm_lint_strict_is_clean(chart_cluster: ChartCluster, values: Path | None) -> None:
    args = ["lint", "--strict", str(CHART)] + (["-f", str(values)] if values else [])
    result = chart_cluster.helm(*args, check=False)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "[WARNING]" not in result.stdout, result.stdout
    assert "[ERROR]" not in result.stdout, result.stdout
    assert "1 chart(s) linted, 0 chart(s) failed" in result.stdout


@pytest.mark.parametrize("values", CI_VALUES, ids=ci_values_id)
def test_ci_values_render_and_pass_server_side_dry_run(
    chart_cluster: ChartCluster, chart_namespace: str, values: Path
) -> None:
    rendered = chart_cluster.template("-f", str(values), namespace=chart_namespace)
    assert set(by_kind(rendered)) == EXPECTED_KINDS[ci_values_id(values)]

    result = chart_cluster.kube.run(
        "apply", "--dry-run=server", "-n", chart_namespace, "-f", "-", stdin=rendered
    )
    assert result.returncode == 0, result.stderr
    accepted = [line for line in result.stdout.splitlines() if "(server dry run)" in line]
    assert len(accepted) == len(documents(rendered)), result.stdout


def test_full_values_reach_the_operator(chart_cluster: ChartCluster) -> None:
    rendered = chart_cluster.template("-f", str(CHART / "ci" / "full-values.yaml"))
    container = _operator(rendered)
    env = {entry["name"]: entry.get("value") for entry in container["env"]}
    assert env["RAGLINE_OPERATOR_RESYNC_SECONDS"] == "120"
    assert env["RAGLINE_OPERATOR_PROGRESS_SECONDS"] == "2.5"
    assert env["RAGLINE_OPERATOR_FIELD_MANAGER"] == "ragline-operator-eu"
    assert env["TZ"] == "UTC"
    # The operator runs the mirrored image; workloads the pinned digest of the same repository.
    assert container["image"] == "registry.example.com/mirror/ragline:0.1.0"
    assert env["RAGLINE_OPERATOR_IMAGE"] == (
        "registry.example.com/mirror/ragline@sha256:"
        "0f4e0b5a8c7f1f0e1b9c2d3e4f5a6b7c8d9e0f1a2b3c4d5e6f7a8b9c0d1e2f3a"
    )
    assert env["RAGLINE_OPERATOR_IMAGE_PULL_POLICY"] == "IfNotPresent"
    assert "--namespace=shop-a" in container["command"]
    assert "--all-namespaces" not in container["command"]
    assert "--debug" in container["command"]
    for crd_doc in by_kind(rendered)["CustomResourceDefinition"]:
        assert "helm.sh/resource-policy" not in crd_doc["metadata"].get("annotations", {})


def test_operator_env_vars_are_operator_settings(chart_cluster: ChartCluster) -> None:
    container = _operator(chart_cluster.template())
    names = {entry["name"] for entry in container["env"]}
    settings = {f"RAGLINE_OPERATOR_{field.upper()}" for field in OperatorConfig.model_fields}
    assert names == settings, f"not settings: {names - settings}; unset: {settings - names}"
    # The operator's own namespace comes from the pod, wherever the release is installed.
    (namespace,) = [e for e in container["env"] if e["name"] == "RAGLINE_OPERATOR_NAMESPACE"]
    assert namespace["valueFrom"] == {"fieldRef": {"fieldPath": "metadata.namespace"}}


def test_operator_pod_is_hardened(chart_cluster: ChartCluster) -> None:
    rendered = chart_cluster.template()
    (deployment,) = by_kind(rendered)["Deployment"]
    pod = deployment["spec"]["template"]["spec"]
    container = pod["containers"][0]
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert pod["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}
    assert container["securityContext"]["readOnlyRootFilesystem"] is True
    assert container["securityContext"]["allowPrivilegeEscalation"] is False
    assert container["securityContext"]["capabilities"] == {"drop": ["ALL"]}
    assert {"name": "tmp", "mountPath": "/tmp"} in container["volumeMounts"]
    assert container["livenessProbe"]["httpGet"] == {"path": "/healthz", "port": "health"}
    assert "--liveness=http://0.0.0.0:8080/healthz" in container["command"]
    assert deployment["spec"]["strategy"] == {"type": "Recreate"}
    assert deployment["spec"]["replicas"] == 1


def test_cluster_role_is_the_operators_rule_list(chart_cluster: ChartCluster) -> None:
    (role,) = by_kind(chart_cluster.template())["ClusterRole"]
    assert role["metadata"]["name"] == cluster_role()["metadata"]["name"]
    assert role["rules"] == cluster_role()["rules"]


def test_crds_are_the_generated_ones_gated_and_kept(chart_cluster: ChartCluster) -> None:
    rendered = by_kind(chart_cluster.template())["CustomResourceDefinition"]
    expected = {doc["metadata"]["name"]: doc for doc in map(crd, CUSTOM_RESOURCES)}
    assert {doc["metadata"]["name"] for doc in rendered} == set(expected)
    for doc in rendered:
        assert doc["spec"] == expected[doc["metadata"]["name"]]["spec"]
        assert doc["metadata"]["annotations"] == {"helm.sh/resource-policy": "keep"}

    without = chart_cluster.template("--set", "crds.enabled=false")
    assert "CustomResourceDefinition" not in by_kind(without)
    unkept = by_kind(chart_cluster.template("--set", "crds.keep=false"))
    assert all("annotations" not in d["metadata"] for d in unkept["CustomResourceDefinition"])


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({"operator": {"imagee": {}}}, r"/operator.*additional properties 'imagee' not allowed"),
        ({"crds": {"keep": "yes"}}, r"/crds/keep.*got string, want boolean"),
        ({"operator": {"logLevel": "loud"}}, r"/operator/logLevel.*value must be one of"),
        (
            {"operator": {"config": {"resyncSeconds": 0}}},
            r"/operator/config/resyncSeconds.*minimum",
        ),
        ({"operator": {"config": {"resyncSecs": 5}}}, r"additional properties 'resyncSecs'"),
    ],
    ids=["unknown-key", "wrong-type", "bad-enum", "below-minimum", "unknown-config-key"],
)
def test_bad_values_are_refused_naming_the_key(
    chart_cluster: ChartCluster, tmp_path: Path, values: dict[str, Any], message: str
) -> None:
    bad = tmp_path / "bad-values.yaml"
    bad.write_text(json.dumps(values))
    result = chart_cluster.helm("template", "r", str(CHART), "-f", str(bad), check=False)
    assert result.returncode != 0
    assert "values don't meet the specifications of the schema" in result.stderr, result.stderr
    assert re.search(message, result.stderr), result.stderr
