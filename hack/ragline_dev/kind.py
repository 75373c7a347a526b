"""RAGline in a kind cluster: ``make up CLUSTER=kind`` (hack/kind-up.sh) and ``tests/kind``.

A thin layer over what the local control plane tests prove: the same chart (with
``ci/kind-values.yaml``), the same samples (``manifests/dev/kind`` points their Secrets at an
in-cluster PostgreSQL and Valkey), and one image built from the Dockerfile and loaded into the
nodes, so nothing is pulled from a registry RAGline does not control. Needs Docker and kind.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass

from ragline_dev.gobuild import CONTROL_PLANE, HELM
from ragline_dev.paths import REPO_ROOT
from ragline_dev.progress import say, step

CLUSTER = "ragline"
CONTEXT = f"kind-{CLUSTER}"
IMAGE = "ragline:kind"  # ci/kind-values.yaml runs this tag with pullPolicy Never
RELEASE = "ragline"
NAMESPACE = "ragline-system"
SAMPLES_NAMESPACE = "ragline-dev"
KIND_VALUES = REPO_ROOT / "charts" / "ragline" / "ci" / "kind-values.yaml"
SAMPLES = REPO_ROOT / "manifests" / "dev" / "kind"
# Image builds and the first pulls of PostgreSQL and Valkey take minutes; rollouts less.
BUILD_TIMEOUT_SECONDS = 1800
ROLLOUT_TIMEOUT = "300s"
DEPLOYMENTS = ("postgres", "valkey", "orders-relay", "orders-notifier", "shop-api")


def missing_tools() -> list[str]:
    """What this machine lacks for the kind path (empty when it can run)."""
    missing = [tool for tool in ("docker", "kind") if shutil.which(tool) is None]
    if "docker" not in missing:
        info = subprocess.run(["docker", "info"], capture_output=True, check=False, timeout=30)
        if info.returncode != 0:
            missing.append("a running Docker engine")
    return missing


@dataclass(frozen=True)
class Kind:
    """The pinned helm and kubectl, pointed at the kind cluster's context."""

    kubectl: str
    helm: str

    @classmethod
    def tools(cls) -> Kind:
        """Build (cached) and return the pinned tools."""
        CONTROL_PLANE.install()
        HELM.install()
        return cls(kubectl=str(CONTROL_PLANE.path("kubectl")), helm=str(HELM.path("helm")))

    def kube(self, *args: str, stdin: str | None = None) -> str:
        """kubectl against the kind cluster; raise on failure."""
        return _run([self.kubectl, f"--context={CONTEXT}", *args], stdin=stdin)

    def helm_run(self, *args: str) -> str:
        """helm against the kind cluster; raise on failure."""
        return _run([self.helm, f"--kube-context={CONTEXT}", *args])


def _run(argv: Sequence[str], *, stdin: str | None = None, timeout: float = 600) -> str:
    result = subprocess.run(
        list(argv), input=stdin, capture_output=True, text=True, check=False, timeout=timeout
    )
    if result.returncode != 0:
        raise RuntimeError(f"{' '.join(argv)} failed:\n{result.stderr.strip()}")
    return result.stdout


def ensure_cluster() -> None:
    """Create the kind cluster unless it exists."""
    clusters = _run(["kind", "get", "clusters"]).split()
    if CLUSTER in clusters:
        say(f"kind cluster {CLUSTER} exists; reusing it")
        return
    with step(f"Creating kind cluster {CLUSTER}"):
        _run(["kind", "create", "cluster", "--name", CLUSTER, "--wait", "120s"], timeout=600)


def build_and_load(image: str = IMAGE, *, target: str = "ragline") -> None:
    """Build the RAGline image and load it into the kind nodes."""
    with step(f"Building {image} (Dockerfile target {target})"):
        _run(
            ["docker", "build", "--target", target, "-t", image, str(REPO_ROOT)],
            timeout=BUILD_TIMEOUT_SECONDS,
        )
    with step(f"Loading {image} into kind"):
        _run(["kind", "load", "docker-image", image, "--name", CLUSTER], timeout=600)


def install(kind: Kind) -> None:
    """The chart with kind values, then the samples and their in-cluster servers."""
    with step("Installing the chart"):
        kind.helm_run(
            "upgrade", "--install", RELEASE, str(REPO_ROOT / "charts" / "ragline"),
            "--namespace", NAMESPACE, "--create-namespace",
            "-f", str(KIND_VALUES), "--wait", "--timeout", ROLLOUT_TIMEOUT,
        )  # fmt: skip
    with step("Applying the samples"):
        namespace = kind.kube(
            "create", "namespace", SAMPLES_NAMESPACE, "--dry-run=client", "-o", "yaml"
        )
        kind.kube("apply", "-f", "-", stdin=namespace)
        kind.kube("apply", "-k", str(SAMPLES))


def wait_for_workloads(kind: Kind, *, timeout_seconds: float = 600) -> None:
    """Wait until the operator has created every sample workload and each is rolled out."""
    deadline = time.monotonic() + timeout_seconds
    with step("Waiting for the operator's workloads"):
        for name in DEPLOYMENTS:
            while True:
                try:
                    kind.kube(
                        "rollout", "status", f"deployment/{name}", "-n", SAMPLES_NAMESPACE,
                        f"--timeout={ROLLOUT_TIMEOUT}",
                    )  # fmt: skip
                    break
                except RuntimeError:
                    # Not created yet (the operator waits for its prerequisites): poll.
                    if time.monotonic() > deadline:
                        raise
                    time.sleep(5)


def up(*, build: bool = True) -> Kind:
    """Create (or reuse) the cluster, build and load the image, install, wait."""
    missing = missing_tools()
    if missing:
        raise RuntimeError(f"the kind path needs {', '.join(missing)}")
    kind = Kind.tools()
    ensure_cluster()
    if build:
        build_and_load()
    install(kind)
    wait_for_workloads(kind)
    return kind


def down() -> None:
    """Delete the kind cluster."""
    _run(["kind", "delete", "cluster", "--name", CLUSTER])


NEXT_STEPS = f"""
RAGline runs in kind (context {CONTEXT}); the samples are in namespace {SAMPLES_NAMESPACE}.
  kubectl --context {CONTEXT} get ragline -A
  kubectl --context {CONTEXT} -n {SAMPLES_NAMESPACE} port-forward svc/shop-api 8080:8080 &
  kubectl --context {CONTEXT} -n {SAMPLES_NAMESPACE} port-forward svc/orders-notifier 8081:8080 &
  tilt up                              # the dev loop on this cluster (see the Tiltfile)
  .venv/bin/python -m ragline_dev.kind down   # delete the cluster
"""


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m ragline_dev.kind up|down``."""
    parser = argparse.ArgumentParser(prog="ragline_dev.kind", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    up_parser = sub.add_parser("up", help="create the cluster, build, install, apply the samples")
    up_parser.add_argument("--no-build", action="store_true", help="reuse the loaded image")
    sub.add_parser("down", help="delete the kind cluster")
    args = parser.parse_args(argv)
    try:
        if args.command == "down":
            down()
            return 0
        up(build=not args.no_build)
    except RuntimeError as error:
        say(str(error))
        return 1
    print(NEXT_STEPS)
    return 0


if __name__ == "__main__":
    sys.exit(main())
