"""The Dockerfile's invariants, and its consistency with the operator and the chart.

No Docker engine runs here, so the images are not built in this suite (tests/kind builds them);
what is checked is everything that decides whether they would run under the chart's pod security.
"""

from __future__ import annotations

import importlib.util
import re
import sys
import tomllib

import pytest

from ragline_dev.chart.values import HEALTH_PORT
from ragline_dev.paths import REPO_ROOT
from ragline_operator.resources.common import RUN_AS_USER
from ragline_operator.resources.env import COMMANDS, HTTP_PORT
from tests.unit.images.dockerfile import Dockerfile, exec_form, parse

SERVICES = ("api", "relay", "notifier", "llm")
# `ragline` is the image the operator stamps on every workload; the rest are entry-point aliases.
TARGETS = ("ragline", *SERVICES, "operator", "dev")


@pytest.fixture(scope="module")
def dockerfile() -> Dockerfile:
    return parse(REPO_ROOT / "Dockerfile")


def test_every_target_exists(dockerfile: Dockerfile) -> None:
    assert set(TARGETS) <= set(dockerfile.stages)


@pytest.mark.parametrize("target", TARGETS)
def test_target_runs_as_the_numeric_non_root_user_the_pods_set(
    dockerfile: Dockerfile, target: str
) -> None:
    user = dockerfile.effective(target, "USER")
    assert user is not None, f"{target} runs as root"
    uid, _, gid = user.partition(":")
    # Numeric, so kubelet can verify runAsNonRoot without a passwd lookup.
    assert uid.isdigit(), user
    assert gid.isdigit(), user
    assert int(uid) == RUN_AS_USER
    assert int(gid) == RUN_AS_USER


@pytest.mark.parametrize("target", TARGETS)
def test_target_is_ready_for_a_read_only_root_filesystem(
    dockerfile: Dockerfile, target: str
) -> None:
    env = dockerfile.env(target)
    assert env["PYTHONDONTWRITEBYTECODE"] == "1"
    assert env["HOME"] == "/tmp"
    assert dockerfile.env("build")["UV_COMPILE_BYTECODE"] == "1"  # bytecode made at build time
    assert '["/tmp"]' in dockerfile.stages["ragline"].values("VOLUME")


def test_base_image_is_pinned_to_the_tested_python(dockerfile: Dockerfile) -> None:
    bases = {dockerfile.external_base(name) for name in dockerfile.stages}
    assert len(bases) == 1, bases
    (base,) = bases
    match = re.fullmatch(r"python:(\d+)\.(\d+)\.(\d+)-slim-(\w+)(@sha256:[0-9a-f]{64})?", base)
    assert match, f"{base} is not pinned to a patch release and distribution"
    major, minor, patch = (int(part) for part in match.groups()[:3])
    project = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text())["project"]
    assert f"{major}.{minor}" in project["requires-python"].replace(">=", "").split(",")[0]
    assert (major, minor, patch) == sys.version_info[:3], "the image runs another Python"


def test_dependencies_come_from_the_lock_file(dockerfile: Dockerfile) -> None:
    syncs = [run for run in dockerfile.stages["build"].values("RUN") if "uv sync" in run]
    assert len(syncs) == 2, syncs
    for run in syncs:
        assert "--frozen" in run, run
        assert "--no-dev" in run, run
    assert "--no-editable" in syncs[-1]
    copies = dockerfile.stages["build"].values("COPY")
    assert copies[0].split()[:2] == ["pyproject.toml", "uv.lock"]
    makefile = (REPO_ROOT / "Makefile").read_text()
    pinned = re.search(r"^UV_VERSION := (\S+)$", makefile, flags=re.MULTILINE)
    assert pinned
    assert dockerfile.args["UV_VERSION"] == pinned.group(1)
    assert any("uv==${UV_VERSION}" in run for run in dockerfile.stages["build"].values("RUN"))


def test_sources_of_every_packaged_module_are_copied(dockerfile: Dockerfile) -> None:
    project = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text())
    packages = project["tool"]["hatch"]["build"]["targets"]["wheel"]["packages"]
    copied = [copy.split()[0] for copy in dockerfile.stages["build"].values("COPY")]
    for package in packages:
        assert any(f"{package}/".startswith(source) for source in copied), package
    ignored = (REPO_ROOT / ".dockerignore").read_text().split()
    assert {".git", ".venv", ".cache", "tests"} <= set(ignored)


def test_only_the_runtime_virtualenv_reaches_the_image(dockerfile: Dockerfile) -> None:
    copies = dockerfile.stages["ragline"].values("COPY")
    assert copies == ["--from=build /app/.venv /app/.venv"]
    # A fresh base, not the build stage: uv, its cache and the sources stay behind.
    assert dockerfile.external_base("ragline") == dockerfile.external_base("build")
    assert dockerfile.chain("ragline")[-1].name == "ragline"


@pytest.mark.parametrize("service", SERVICES)
def test_service_entry_point_is_the_operators_command(dockerfile: Dockerfile, service: str) -> None:
    entrypoint = dockerfile.effective(service, "ENTRYPOINT")
    assert entrypoint is not None
    assert exec_form(entrypoint) == list(COMMANDS[service])
    assert dockerfile.effective(service, "EXPOSE") == str(HTTP_PORT)


def test_operator_entry_point_matches_the_chart(dockerfile: Dockerfile) -> None:
    entrypoint = dockerfile.effective("operator", "ENTRYPOINT")
    assert entrypoint is not None
    command = exec_form(entrypoint)
    assert command[:3] == ["kopf", "run", "--standalone"]
    assert f"--liveness=http://0.0.0.0:{HEALTH_PORT}/healthz" in command
    assert command[-1] == "--module=ragline_operator.main"


@pytest.mark.parametrize("name", sorted(COMMANDS))
def test_every_workload_command_runs_a_module_the_image_holds(name: str) -> None:
    command = COMMANDS[name]
    assert command[:2] == ("python", "-m"), command
    module = command[2]
    spec = importlib.util.find_spec(module)
    assert spec is not None, f"{module} is not importable"
    if spec.submodule_search_locations is not None:  # a package runs its __main__
        assert importlib.util.find_spec(f"{module}.__main__") is not None, module


def test_dev_target_puts_live_synced_source_first(dockerfile: Dockerfile) -> None:
    assert dockerfile.env("dev")["PYTHONPATH"] == "/tmp/live"
    assert dockerfile.stages["dev"].base == "ragline"
