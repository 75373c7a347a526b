"""What the Tiltfile declares, in each of its three modes (see tests/unit/tilt/stub.py)."""

from __future__ import annotations

from typing import Any

import pytest
import yaml

from ragline_dev.chart.docs import defaults
from ragline_dev.chart.install import operator_command
from ragline_dev.paths import REPO_ROOT
from tests.unit.images.dockerfile import parse
from tests.unit.tilt.stub import TiltStub, evaluate, starlark_violations

TILTFILE = REPO_ROOT / "Tiltfile"
PACKAGES = {
    "ragline_api": "services/api/ragline_api",
    "ragline_relay": "services/relay/ragline_relay",
    "ragline_notifier": "services/notifier/ragline_notifier",
    "ragline_llm": "services/llm/ragline_llm",
    "ragline_common": "services/common/ragline_common",
    "ragline_operator": "operator/ragline_operator",
}


def _only(stub: TiltStub, name: str) -> dict[str, Any]:
    (call,) = stub.named(name)
    return call.args


def _local(stub: TiltStub) -> dict[str, dict[str, Any]]:
    return {call.args["name"]: call.args for call in stub.named("local_resource")}


@pytest.mark.parametrize("flags", [{}, {"operator-local": True}, {"no-docker": True}])
def test_only_the_kind_context_is_allowed(flags: dict[str, Any]) -> None:
    stub = evaluate(TILTFILE, **flags)
    assert [c.args["contexts"] for c in stub.named("allow_k8s_contexts")] == ["kind-ragline"]


def test_the_checker_rejects_what_starlark_rejects() -> None:
    source = 'import os\nx = f"{1}"\nif a is None: pass\nclass A: pass\nwhile True: pass\n'
    assert len(starlark_violations(source)) == 5


def test_kind_mode_builds_one_image_with_live_update_per_service() -> None:
    stub = evaluate(TILTFILE)
    build = _only(stub, "docker_build")
    dev_stage = parse(REPO_ROOT / "Dockerfile").stages[build["target"]]
    assert build["ref"] == "ragline"
    assert build["context"] == "."
    # The live copies land where the dev target's PYTHONPATH looks first.
    assert dev_stage.name == "dev"
    assert "PYTHONPATH=/tmp/live" in dev_stage.values("ENV")
    steps = build["live_update"]
    assert steps[0].name == "fall_back_on"
    assert {"pyproject.toml", "uv.lock"} <= set(steps[0].args["files"])
    syncs = {s.args["local_path"]: s.args["remote_path"] for s in steps if s.name == "sync"}
    assert syncs == {path: f"/tmp/live/{package}" for package, path in PACKAGES.items()}
    for path in syncs:
        assert (REPO_ROOT / path / "__init__.py").exists(), path
    restarts = {tuple(s.args["trigger"]): s.args["cmd"] for s in steps if s.name == "run"}
    for package, path in PACKAGES.items():
        # Each service's change restarts only containers running it; common restarts every one.
        assert package in restarts[(path,)] or package == "ragline_common"
    # Workloads take their image from the operator's RAGLINE_OPERATOR_IMAGE env var.
    assert build["match_in_env_vars"] is True


def test_kind_mode_deploys_the_chart_with_dev_values_and_the_samples() -> None:
    stub = evaluate(TILTFILE)
    chart = _only(stub, "helm")
    assert chart["pathToChartDir"] == "charts/ragline"
    assert chart["set"] == []
    (values_file,) = chart["values"]
    values = yaml.safe_load((REPO_ROOT / values_file).read_text())
    # The image the chart runs is the one Tilt builds, so Tilt swaps its build in.
    assert values["operator"]["image"]["repository"] == _only(stub, "docker_build")["ref"]
    assert values["operator"]["image"]["registry"] == ""
    (samples,) = [c.args["pathToDir"] for c in stub.named("kustomize")]
    assert (REPO_ROOT / samples / "kustomization.yaml").exists()
    assert {c.args["kind"] for c in stub.named("k8s_kind")} == {
        "TenantConfig",
        "EventStream",
        "RagPipeline",
    }
    assert [c.args["workload"] for c in stub.named("k8s_resource")] == ["ragline-operator"]
    assert not stub.named("local_resource")


def _kopf_flags(command: list[str]) -> set[str]:
    return {arg.split("=")[0] for arg in command[1:] if arg != "run"}


def test_operator_local_mode_runs_kopf_here_like_the_chart_does() -> None:
    stub = evaluate(TILTFILE, **{"operator-local": True})
    assert _only(stub, "helm")["set"] == ["operator.enabled=false"]
    local = _local(stub)
    operator = local["operator"]
    assert operator["serve_cmd"][0] == ".venv/bin/kopf"
    assert (REPO_ROOT / operator["serve_cmd"][0]).exists()
    chart_command = operator_command(defaults()["operator"])
    assert _kopf_flags(operator["serve_cmd"]) == _kopf_flags(chart_command) - {"--log-format"}
    assert operator["serve_env"]["RAGLINE_OPERATOR_IMAGE"] == "ragline:dev"
    assert operator["resource_deps"] == ["image"]
    assert "--target dev" in local["image"]["cmd"]
    assert "kind load" in local["image"]["cmd"]


def test_no_docker_mode_runs_the_stack_and_the_operator_as_local_processes() -> None:
    stub = evaluate(TILTFILE, **{"no-docker": True})
    assert not stub.named("docker_build")
    assert not stub.named("k8s_yaml")
    local = _local(stub)
    assert list(local) == ["stack", "crds", "operator", "samples"]
    assert local["stack"]["serve_cmd"] == ".venv/bin/ragline up"
    probe = local["stack"]["readiness_probe"].args["exec"].args["command"]
    assert probe[1:4] == ["-m", "ragline_dev.devloop", "ready"]
    assert local["crds"]["resource_deps"] == ["stack"]
    assert local["operator"]["resource_deps"] == ["crds"]
    assert local["samples"]["resource_deps"] == ["operator"]
    kubeconfig = local["operator"]["serve_env"]["KUBECONFIG"]
    assert kubeconfig == ".cache/run/dev/kube/admin.kubeconfig"  # what `ragline up` writes
    assert kubeconfig in local["crds"]["cmd"]
    assert kubeconfig in local["samples"]["cmd"]
    health = local["operator"]["readiness_probe"].args["http_get"].args
    assert (
        f"--liveness=http://{health['host']}:{health['port']}/healthz"
        in (local["operator"]["serve_cmd"])
    )
    assert "-k manifests/samples" in local["samples"]["cmd"]
