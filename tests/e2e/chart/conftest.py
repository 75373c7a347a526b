"""A control plane of the chart tests' own, and helpers to drive helm and kubectl against it.

The chart installs cluster-scoped objects (three CRDs, a ClusterRole) and its tests uninstall them
again, with and without ``crds.keep``. On the session's shared control plane that would delete the
CRDs (and every custom resource) under the operator's e2e tests, or collide with the CRDs those
tests apply. So these tests start one more real control plane (the same ``KubeControlPlane`` the
``kube`` fixture runs, built from the same pinned modules, with the same helm) on free loopback
ports, once per package.
"""

from __future__ import annotations

import subprocess
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

import pytest
import yaml

from ragline_dev.infra import Stack
from ragline_dev.infra.kube import KubeControlPlane, Kubectl
from ragline_dev.paths import REPO_ROOT

CHART = REPO_ROOT / "charts" / "ragline"
CI_VALUES = sorted((CHART / "ci").glob("*-values.yaml"))
CRD_NAMES = ("tenantconfigs.ragline.dev", "eventstreams.ragline.dev", "ragpipelines.ragline.dev")
WAIT_SECONDS = 120.0  # an upper bound for a loaded 2-core machine, not an expectation
HELM_TIMEOUT_SECONDS = 120

# A stand-in for the Prometheus Operator's ServiceMonitor CRD (not installable offline), with a
# schema for the fields the chart sets, so a dry run checks their shape, not only the kind.
SERVICE_MONITOR_CRD: dict[str, Any] = {
    "apiVersion": "apiextensions.k8s.io/v1",
    "kind": "CustomResourceDefinition",
    "metadata": {"name": "servicemonitors.monitoring.coreos.com"},
    "spec": {
        "group": "monitoring.coreos.com",
        "scope": "Namespaced",
        "names": {
            "plural": "servicemonitors",
            "singular": "servicemonitor",
            "kind": "ServiceMonitor",
        },
        "versions": [
            {
                "name": "v1",
                "served": True,
                "storage": True,
                "schema": {
                    "openAPIV3Schema": {
                        "type": "object",
                        "properties": {
                            "spec": {
                                "type": "object",
                                "required": ["selector", "endpoints"],
                                "properties": {
                                    "jobLabel": {"type": "string"},
                                    "selector": {
                                        "type": "object",
                                        "x-kubernetes-preserve-unknown-fields": True,
                                    },
                                    "namespaceSelector": {
                                        "type": "object",
                                        "properties": {
                                            "matchNames": {
                                                "type": "array",
                                                "items": {"type": "string"},
                                            }
                                        },
                                    },
                                    "endpoints": {
                                        "type": "array",
                                        "items": {
                                            "type": "object",
                                            "properties": {
                                                "port": {"type": "string"},
                                                "path": {"type": "string"},
                                                "interval": {
                                                    "type": "string",
                                                    "pattern": "^(0|(([0-9]+)(ms|s|m|h))+)$",
                                                },
                                                "scrapeTimeout": {
                                                    "type": "string",
                                                    "pattern": "^(0|(([0-9]+)(ms|s|m|h))+)$",
                                                },
                                            },
                                        },
                                    },
                                },
                            }
                        },
                    }
                },
            }
        ],
    },
}


def eventually(check: Callable[[], bool], what: str, timeout: float = WAIT_SECONDS) -> None:
    """Poll ``check`` until it holds; fail naming ``what`` after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.25)
    raise AssertionError(f"not true after {timeout:.0f}s: {what}")


@dataclass(frozen=True)
class ChartCluster:
    """kubectl and helm bound to the chart tests' control plane."""

    kube: Kubectl
    helm_binary: str

    def helm(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        """Run helm against this control plane."""
        result = subprocess.run(
            [self.helm_binary, f"--kubeconfig={self.kube.kubeconfig}", *args],
            capture_output=True,
            text=True,
            timeout=HELM_TIMEOUT_SECONDS,
            check=False,
        )
        if check and result.returncode != 0:
            raise AssertionError(f"helm {' '.join(args)} failed:\n{result.stderr}")
        return result

    def template(self, *args: str, release: str = "ragline", namespace: str = "ragline") -> str:
        """``helm template`` of the chart; extra args (``-f``, ``--set``) are passed on."""
        return self.helm("template", release, str(CHART), "-n", namespace, *args).stdout

    def crds_present(self) -> set[str]:
        """Which of the chart's CRDs exist."""
        names = self.kube.check("get", "crd", "-o", "name").split()
        return {
            name.removeprefix("customresourcedefinition.apiextensions.k8s.io/") for name in names
        } & set(CRD_NAMES)

    def delete_crds(self) -> None:
        """Delete the chart's CRDs (and so every custom resource) and wait until they are gone."""
        present = self.crds_present()
        if present:
            self.kube.check(
                "delete",
                "crd",
                *sorted(present),
                "--ignore-not-found",
                "--wait=true",
                "--timeout=120s",
            )

    def wait_established(self) -> None:
        """Wait until every CRD of the chart is Established."""
        for name in CRD_NAMES:
            eventually(partial(self.established, name), f"{name} is Established")

    def established(self, name: str) -> bool:
        """The CRD ``name`` is Established (its API is served)."""
        result = self.kube.run(
            "get",
            "crd",
            name,
            "-o",
            "jsonpath={.status.conditions[?(@.type=='Established')].status}",
        )
        return result.returncode == 0 and result.stdout.strip() == "True"


def documents(rendered: str) -> list[dict[str, Any]]:
    """The objects of a multi-document YAML stream (empty documents dropped)."""
    return [doc for doc in yaml.safe_load_all(rendered) if doc]


def by_kind(rendered: str) -> dict[str, list[dict[str, Any]]]:
    """The rendered objects grouped by kind."""
    grouped: dict[str, list[dict[str, Any]]] = {}
    for doc in documents(rendered):
        grouped.setdefault(doc["kind"], []).append(doc)
    return grouped


@pytest.fixture(scope="package")
def chart_cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ChartCluster]:
    """A real control plane of the chart tests' own (see the module docstring)."""
    stack = Stack(root=tmp_path_factory.mktemp("chart-kube"), parts=[KubeControlPlane()])
    try:
        state = stack.up()["kube"]
        cluster = ChartCluster(kube=Kubectl.for_state(state), helm_binary=state.endpoints["helm"])
        cluster.kube.apply(SERVICE_MONITOR_CRD)
        eventually(
            lambda: cluster.established("servicemonitors.monitoring.coreos.com"),
            "the ServiceMonitor stand-in CRD is Established",
        )
        yield cluster
    finally:
        stack.close()


@pytest.fixture
def chart_namespace(chart_cluster: ChartCluster, request: pytest.FixtureRequest) -> Iterator[str]:
    """A fresh namespace on the chart tests' control plane."""
    name = f"chart-{uuid.uuid4().hex[:8]}"
    chart_cluster.kube.check("create", "namespace", name)
    yield name
    chart_cluster.kube.run("delete", "namespace", name, "--wait=false")


@pytest.fixture
def no_crds(chart_cluster: ChartCluster) -> Iterator[ChartCluster]:
    """The chart's CRDs absent before and after the test (installs own them one at a time)."""
    chart_cluster.delete_crds()
    yield chart_cluster
    chart_cluster.delete_crds()


def ci_values_id(path: Path) -> str:
    """``default`` for ``ci/default-values.yaml``."""
    return path.name.removesuffix("-values.yaml")
