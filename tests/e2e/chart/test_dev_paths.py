"""The chart as the Tiltfile deploys it, and the kind samples overlay, against a real API server."""

from __future__ import annotations

from typing import Any

import pytest

from ragline_dev.paths import REPO_ROOT
from tests.e2e.chart.conftest import ChartCluster, by_kind, documents
from tests.unit.tilt.stub import evaluate

pytestmark = pytest.mark.e2e


def _helm_args(call: dict[str, Any], namespace: str) -> list[str]:
    args = ["template", call["name"], str(REPO_ROOT / call["pathToChartDir"]), "-n", namespace]
    for values in call["values"]:
        args += ["-f", str(REPO_ROOT / values)]
    for setting in call["set"]:
        args += ["--set", setting]
    return args


@pytest.mark.parametrize("flags", [{}, {"operator-local": True}], ids=["kind", "operator-local"])
def test_tilt_renders_the_chart_tilt_can_swap_its_image_into(
    chart_cluster: ChartCluster, chart_namespace: str, flags: dict[str, Any]
) -> None:
    stub = evaluate(REPO_ROOT / "Tiltfile", **flags)
    (helm_call,) = stub.named("helm")
    rendered = chart_cluster.helm(*_helm_args(helm_call.args, chart_namespace)).stdout
    (build,) = stub.named("docker_build")
    deployments = by_kind(rendered).get("Deployment", [])
    if flags:
        assert deployments == []  # the operator runs locally instead
    else:
        (deployment,) = deployments
        container = deployment["spec"]["template"]["spec"]["containers"][0]
        env = {e["name"]: e.get("value") for e in container["env"]}
        # Tilt matches refs by repository: both the operator's and the workloads' are its build.
        assert container["image"].split(":")[0] == build.args["ref"]
        assert env["RAGLINE_OPERATOR_IMAGE"].split(":")[0] == build.args["ref"]
    result = chart_cluster.kube.run(
        "apply", "--dry-run=server", "-n", chart_namespace, "-f", "-", stdin=rendered
    )
    assert result.returncode == 0, result.stderr


def test_kind_samples_overlay_is_accepted_by_the_crds(no_crds: ChartCluster) -> None:
    cluster = no_crds
    cluster.kube.check("apply", "-f", str(REPO_ROOT / "manifests" / "install" / "crds.yaml"))
    cluster.wait_established()
    cluster.kube.run("create", "namespace", "ragline-dev")
    overlay = REPO_ROOT / "manifests" / "dev" / "kind"
    rendered = cluster.kube.check("kustomize", str(overlay))
    kinds = {doc["kind"] for doc in documents(rendered)}
    assert {"TenantConfig", "EventStream", "RagPipeline", "Deployment", "Secret"} <= kinds
    secrets = {d["metadata"]["name"]: d for d in documents(rendered) if d["kind"] == "Secret"}
    assert "127.0.0.1" not in str(secrets["ragline-postgres"]) + str(secrets["ragline-redis"])
    result = cluster.kube.run("apply", "--dry-run=server", "-k", str(overlay))
    assert result.returncode == 0, result.stderr
    cluster.kube.run("delete", "namespace", "ragline-dev", "--wait=false")
