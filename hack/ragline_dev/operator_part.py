"""The RAGline operator on the local control plane, under its own least-privilege RBAC.

:class:`OperatorPart` is what ``make up`` runs after the infrastructure: it installs the CRDs
(``crds/``) and the generated ClusterRole (``manifests/rbac/``), binds it to a ServiceAccount,
starts ``kopf run -m ragline_operator.main`` as a local process authenticated with that
ServiceAccount's token (never as cluster-admin), applies ``manifests/samples/`` with their Secrets
pointing at the local PostgreSQL, Valkey and Kafka, and waits until ``kubectl get tc,es,rp`` shows
every sample Ready. The helpers below are shared with the e2e tests and the operator benchmark.
"""

from __future__ import annotations

import base64
import copy
import http.client
import subprocess
import sys
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from ragline_dev import procs
from ragline_dev.infra.base import PartState, pick_port
from ragline_dev.infra.kube import Kubectl, KubectlError
from ragline_dev.paths import REPO_ROOT

CRDS_DIR = REPO_ROOT / "crds"
CLUSTER_ROLE = REPO_ROOT / "manifests" / "rbac" / "clusterrole.yaml"
SAMPLES_DIR = REPO_ROOT / "manifests" / "samples"
SAMPLE_SECRETS = SAMPLES_DIR / "secrets.dev.yaml"
SAMPLE_FILES = (
    "menu.yaml",
    "tenant.yaml",
    "eventstream-redis.yaml",
    "eventstream-kafka.yaml",
    "ragpipeline.yaml",
)
KAFKA_SAMPLE = "eventstream-kafka.yaml"
OPERATOR_NAMESPACE = "ragline-system"
SERVICE_ACCOUNT = "ragline-operator"
TOKEN_SECRET = "ragline-operator-token"  # noqa: S105 - a name, not a secret
SAMPLES_NAMESPACE = "ragline-demo"
KINDS = "tenantconfigs,eventstreams,ragpipelines"
START_TIMEOUT_SECONDS = 60.0
READY_TIMEOUT_SECONDS = 180.0
CRD_ESTABLISHED_TIMEOUT = "60s"


def documents(path: Path) -> list[dict[str, Any]]:
    """The YAML documents of a file (empty ones dropped)."""
    return [doc for doc in yaml.safe_load_all(path.read_text()) if doc]


def install_crds(kube: Kubectl) -> list[str]:
    """Apply every CRD in ``crds/`` and wait until each is Established; returns their names."""
    names = []
    for path in sorted(CRDS_DIR.glob("*.yaml")):
        crds = documents(path)
        kube.apply(*crds)
        names += [str(crd["metadata"]["name"]) for crd in crds]
    kube.check(
        "wait",
        "--for=condition=Established",
        f"--timeout={CRD_ESTABLISHED_TIMEOUT}",
        *(f"crd/{name}" for name in names),
    )
    return names


def install_rbac(kube: Kubectl, *, namespace: str = OPERATOR_NAMESPACE) -> str:
    """The operator's namespace and ServiceAccount, bound to the generated ClusterRole.

    Returns the ClusterRole's name.
    """
    (role,) = documents(CLUSTER_ROLE)
    name = str(role["metadata"]["name"])
    kube.apply(
        {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": namespace}},
        {
            "apiVersion": "v1",
            "kind": "ServiceAccount",
            "metadata": {"name": SERVICE_ACCOUNT, "namespace": namespace},
        },
        role,
        {
            "apiVersion": "rbac.authorization.k8s.io/v1",
            "kind": "ClusterRoleBinding",
            "metadata": {"name": f"{name}-{namespace}"},
            "roleRef": {
                "apiGroup": "rbac.authorization.k8s.io",
                "kind": "ClusterRole",
                "name": name,
            },
            "subjects": [
                {"kind": "ServiceAccount", "name": SERVICE_ACCOUNT, "namespace": namespace}
            ],
        },
    )
    return name


def issue_token(kube: Kubectl, *, namespace: str = OPERATOR_NAMESPACE, duration: str = "2h") -> str:
    """A bound, expiring token of the operator's ServiceAccount (``kubectl create token``)."""
    return kube.check(
        "create", "token", SERVICE_ACCOUNT, "-n", namespace, f"--duration={duration}"
    ).strip()


def persistent_token(kube: Kubectl, *, namespace: str = OPERATOR_NAMESPACE) -> str:
    """A long-lived ServiceAccount token Secret's token (survives restarts of ``make up``)."""
    kube.apply(
        {
            "apiVersion": "v1",
            "kind": "Secret",
            "type": "kubernetes.io/service-account-token",
            "metadata": {
                "name": TOKEN_SECRET,
                "namespace": namespace,
                "annotations": {"kubernetes.io/service-account.name": SERVICE_ACCOUNT},
            },
        }
    )
    token: list[str] = []

    def filled() -> bool:
        data = kube.json("get", "secret", TOKEN_SECRET, "-n", namespace).get("data") or {}
        if data.get("token"):
            token.append(base64.b64decode(data["token"]).decode())
        return bool(token)

    procs.wait_until(filled, what="the operator's ServiceAccount token", timeout=60, interval=0.2)
    return token[0]


def operator_argv(*, liveness_port: int, namespaces: Sequence[str] = ()) -> list[str]:
    """``kopf run`` of the operator: every namespace unless ``namespaces`` are given."""
    scope = [f"--namespace={ns}" for ns in namespaces] or ["--all-namespaces"]
    return [
        sys.executable,
        "-m",
        "kopf",
        "run",
        "--standalone",
        *scope,
        f"--liveness=http://127.0.0.1:{liveness_port}/healthz",
        "-m",
        "ragline_operator.main",
    ]


def operator_env(
    *,
    kubeconfig: Path,
    namespace: str = OPERATOR_NAMESPACE,
    settings: Mapping[str, str] | None = None,
) -> dict[str, str]:
    """Environment of the operator process: its kubeconfig and ``RAGLINE_OPERATOR_*``."""
    env = {"KUBECONFIG": str(kubeconfig), "RAGLINE_OPERATOR_NAMESPACE": namespace}
    for key, value in (settings or {}).items():
        env[f"RAGLINE_OPERATOR_{key.upper()}"] = value
    return env


def liveness_ok(port: int) -> bool:
    """Kopf's liveness endpoint answers 200."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=2.0)
    try:
        connection.request("GET", "/healthz")
        return connection.getresponse().status == 200
    except OSError:
        return False
    finally:
        connection.close()


def start_operator(
    *,
    kubeconfig: Path,
    log: Path,
    liveness_port: int,
    settings: Mapping[str, str] | None = None,
    namespaces: Sequence[str] = (),
    tie_to_parent: bool = True,
) -> subprocess.Popen[bytes]:
    """Start the operator and wait until Kopf reports itself alive."""
    proc = procs.spawn(
        operator_argv(liveness_port=liveness_port, namespaces=namespaces),
        log=log,
        env=operator_env(kubeconfig=kubeconfig, settings=settings),
        cwd=REPO_ROOT,
        tie_to_parent=tie_to_parent,
    )
    procs.wait_until(
        lambda: liveness_ok(liveness_port),
        what="ragline-operator",
        timeout=START_TIMEOUT_SECONDS,
        proc=proc,
        log=log,
    )
    return proc


def sample_secrets(values: Mapping[str, Mapping[str, str]]) -> list[dict[str, Any]]:
    """The samples' Secrets with ``values`` (Secret name → key → value) over the dev defaults."""
    secrets = []
    for document in documents(SAMPLE_SECRETS):
        secret = copy.deepcopy(document)
        secret["stringData"].update(values.get(secret["metadata"]["name"], {}))
        secrets.append(secret)
    return secrets


def sample_resources(*, kafka: bool = True) -> list[dict[str, Any]]:
    """The sample ConfigMap and custom resources (the Kafka EventStream only with ``kafka``)."""
    files = [name for name in SAMPLE_FILES if kafka or name != KAFKA_SAMPLE]
    return [doc for name in files for doc in documents(SAMPLES_DIR / name)]


def local_secret_values(dependencies: Mapping[str, PartState]) -> dict[str, dict[str, str]]:
    """The samples' Secret values for the local parts that run (by part name)."""
    values: dict[str, dict[str, str]] = {}
    if "postgres" in dependencies:
        values["ragline-postgres"] = {"dsn": dependencies["postgres"].endpoints["dsn"]}
    if "valkey" in dependencies:
        values["ragline-redis"] = {"url": dependencies["valkey"].endpoints["url"]}
    if "kafka" in dependencies:
        values["ragline-kafka"] = {"bootstrap": dependencies["kafka"].endpoints["bootstrap"]}
    return values


def is_ready(obj: Mapping[str, Any]) -> bool:
    """The custom resource's Ready condition is True for its current generation."""
    status = obj.get("status") or {}
    if status.get("observedGeneration") != obj.get("metadata", {}).get("generation"):
        return False
    return any(
        c.get("type") == "Ready" and c.get("status") == "True"
        for c in status.get("conditions") or []
    )


def not_ready(kube: Kubectl, namespace: str, kinds: str = KINDS) -> list[str]:
    """``kind/name`` of every custom resource in ``namespace`` that is not Ready yet."""
    items = kube.json("get", kinds, "-n", namespace).get("items") or []
    return [f"{o['kind']}/{o['metadata']['name']}" for o in items if not is_ready(o)]


def wait_ready(
    kube: Kubectl, namespace: str, *, expected: int, timeout: float = READY_TIMEOUT_SECONDS
) -> None:
    """Wait until ``expected`` custom resources exist in ``namespace`` and all are Ready."""
    deadline = time.monotonic() + timeout
    waiting: list[str] = ["(none listed yet)"]
    while time.monotonic() < deadline:
        items = kube.json("get", KINDS, "-n", namespace).get("items") or []
        waiting = [f"{o['kind']}/{o['metadata']['name']}" for o in items if not is_ready(o)]
        if len(items) >= expected and not waiting:
            return
        time.sleep(0.5)
    raise procs.StartError(f"not Ready after {timeout:.0f}s in {namespace}: {', '.join(waiting)}")


def _ensure_namespace(kube: Kubectl, namespace: str) -> None:
    kube.apply({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": namespace}})


@dataclass
class OperatorPart:
    """``make up``: the operator (as its ServiceAccount) and the samples, Ready."""

    name: str = "operator"
    samples_namespace: str = SAMPLES_NAMESPACE
    requires: tuple[str, ...] = ("kube", "postgres", "valkey")
    optional: tuple[str, ...] = ("kafka",)

    def install(self) -> None:
        """Nothing to install: the operator runs from the project's environment."""

    def _dependencies(self, workdir: Path) -> dict[str, PartState]:
        found: dict[str, PartState] = {}
        for name in (*self.requires, *self.optional):
            state = PartState.load(workdir.parent / name)
            if state is not None and state.processes_alive():
                found[name] = state
            elif name in self.requires:
                raise procs.StartError(f"{self.name} needs {name}, which is not running")
        return found

    def start(self, workdir: Path, *, tie_to_parent: bool, previous: PartState | None) -> PartState:
        """Install CRDs and RBAC, start the operator, apply the samples, wait until Ready."""
        dependencies = self._dependencies(workdir)
        admin = Kubectl.for_state(dependencies["kube"])
        install_crds(admin)
        install_rbac(admin)
        kubeconfig = workdir / "operator.kubeconfig"
        admin.with_token(persistent_token(admin), kubeconfig)
        port = pick_port(previous, "liveness")
        log = workdir / "operator.log"
        proc = start_operator(
            kubeconfig=kubeconfig, log=log, liveness_port=port, tie_to_parent=tie_to_parent
        )
        state = PartState(
            name=self.name,
            pids=[proc.pid],
            endpoints={
                "liveness": f"http://127.0.0.1:{port}/healthz",
                "kubeconfig": str(kubeconfig),
                "samples": self.samples_namespace,
            },
            logs=[str(log)],
            ports={"liveness": port},
        )
        try:
            self._apply_samples(admin, dependencies)
        except BaseException:
            state.stop()
            raise
        return state

    def _apply_samples(self, admin: Kubectl, dependencies: Mapping[str, PartState]) -> None:
        namespace = self.samples_namespace
        _ensure_namespace(admin, namespace)
        kafka = "kafka" in dependencies
        resources = sample_resources(kafka=kafka)
        admin.apply(*sample_secrets(local_secret_values(dependencies)), namespace=namespace)
        admin.apply(*resources, namespace=namespace)
        custom = [r for r in resources if str(r["apiVersion"]).startswith("ragline.dev/")]
        wait_ready(admin, namespace, expected=len(custom))

    def healthy(self, state: PartState) -> bool:
        """Kopf's liveness endpoint answers."""
        return liveness_ok(state.ports["liveness"])


def describe_samples(kube: Kubectl, namespace: str = SAMPLES_NAMESPACE) -> str:
    """``kubectl get tc,es,rp`` of the samples, as ``make up`` shows it."""
    try:
        return kube.check("get", KINDS, "-n", namespace)
    except KubectlError as exc:
        return str(exc)
