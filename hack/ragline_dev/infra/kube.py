"""A real Kubernetes control plane on 127.0.0.1, built from Go modules, with kwok's fake node.

etcd, kube-apiserver (RBAC on), kube-controller-manager and kube-scheduler run as local processes;
kwok turns Pods bound to its one fake Node Running and Ready, so Deployments and Jobs behave. Pods
are fake: nothing here ever connects to a Pod or Service IP.
"""

from __future__ import annotations

import http.client
import json
import os
import ssl
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from ragline_dev import procs
from ragline_dev.gobuild import CONTROL_PLANE, ETCD, HELM, KWOK
from ragline_dev.infra.base import PartState, pick_port
from ragline_dev.infra.pki import Pki, ensure_pki

START_TIMEOUT_SECONDS = 120.0
NODE_NAME = "kwok-node-0"
SERVICE_CIDR = "10.0.0.0/24"
POD_CIDR = "10.0.1.0/24"

FAKE_NODE = {
    "apiVersion": "v1",
    "kind": "Node",
    "metadata": {
        "name": NODE_NAME,
        "annotations": {"kwok.x-k8s.io/node": "fake", "node.alpha.kubernetes.io/ttl": "0"},
        "labels": {
            "kubernetes.io/hostname": NODE_NAME,
            "kubernetes.io/os": "linux",
            "kubernetes.io/arch": "amd64",
            "type": "kwok",
        },
    },
    "spec": {"podCIDR": POD_CIDR},
    "status": {
        "allocatable": {"cpu": "64", "memory": "256Gi", "pods": "2000"},
        "capacity": {"cpu": "64", "memory": "256Gi", "pods": "2000"},
    },
}


# kwok's own stage sets (in its module under kustomize/stage): nodes initialise and heartbeat
# through a Lease, so the node lifecycle controller keeps them Ready; pods become Ready at once,
# Job pods complete, deleted pods go.
KWOK_STAGE_SETS = ("node/fast", "node/heartbeat-with-lease", "pod/fast")


def kwok_stages() -> Path:
    """Return the kwok stage config, assembled once from the pinned kwok module's stage files."""
    target = KWOK.bin_dir() / "stages.yaml"
    if target.exists():
        return target
    module_dir = subprocess.run(
        ["go", "list", "-m", "-f", "{{.Dir}}", "sigs.k8s.io/kwok"],
        cwd=KWOK.module_dir,
        capture_output=True,
        text=True,
        check=True,
        env={**os.environ, "GOTOOLCHAIN": "local", "GOFLAGS": "-mod=readonly"},
    ).stdout.strip()
    documents = []
    for stage_set in KWOK_STAGE_SETS:
        folder = Path(module_dir) / "kustomize" / "stage" / stage_set
        kustomization = yaml.safe_load((folder / "kustomization.yaml").read_text())
        documents += [(folder / name).read_text() for name in kustomization["resources"]]
    partial = target.with_suffix(".partial")
    partial.write_text("\n---\n".join(doc.strip() for doc in documents) + "\n")
    partial.rename(target)
    return target


def kubeconfig(*, server: str, pki: Pki, client: str) -> str:
    """Render a kubeconfig for one client certificate of ``pki``."""
    document = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [
            {
                "name": "ragline-local",
                "cluster": {"server": server, "certificate-authority": str(pki.ca_cert)},
            }
        ],
        "users": [
            {
                "name": client,
                "user": {
                    "client-certificate": str(pki.cert(client)),
                    "client-key": str(pki.key(client)),
                },
            }
        ],
        "contexts": [
            {"name": "ragline-local", "context": {"cluster": "ragline-local", "user": client}}
        ],
        "current-context": "ragline-local",
    }
    return yaml.safe_dump(document, sort_keys=False)


def readyz(port: int, pki: Pki) -> bool:
    """Ask the API server's ``/readyz`` as the admin."""
    context = ssl.create_default_context(cafile=str(pki.ca_cert))
    context.load_cert_chain(str(pki.cert("admin")), str(pki.key("admin")))
    connection = http.client.HTTPSConnection("127.0.0.1", port, context=context, timeout=2.0)
    try:
        connection.request("GET", "/readyz")
        response = connection.getresponse()
        return response.status == 200 and response.read() == b"ok"
    except OSError:
        return False
    finally:
        connection.close()


class KubectlError(RuntimeError):
    """kubectl failed; the message is its stderr."""


@dataclass(frozen=True)
class Kubectl:
    """kubectl bound to one kubeconfig: what tests, ``make up`` and the CLI drive clusters with."""

    binary: str
    kubeconfig: str

    @classmethod
    def for_state(cls, state: PartState) -> Kubectl:
        """kubectl as the admin of a running control plane."""
        return cls(binary=state.endpoints["kubectl"], kubeconfig=state.endpoints["kubeconfig"])

    def run(self, *args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
        """Run kubectl; the caller inspects the return code."""
        return subprocess.run(
            [self.binary, f"--kubeconfig={self.kubeconfig}", *args],
            input=stdin,
            capture_output=True,
            text=True,
            check=False,
            timeout=120,
        )

    def check(self, *args: str, stdin: str | None = None) -> str:
        """Run kubectl and return stdout; raise :class:`KubectlError` on failure."""
        result = self.run(*args, stdin=stdin)
        if result.returncode != 0:
            raise KubectlError(f"kubectl {' '.join(args)}: {result.stderr.strip()}")
        return result.stdout

    def json(self, *args: str) -> Any:
        """Run ``kubectl ... -o json`` and parse the output."""
        return json.loads(self.check(*args, "-o", "json"))

    def with_token(self, token: str, kubeconfig: Path) -> Kubectl:
        """kubectl authenticated by a bearer token (e.g. a ServiceAccount's) instead of the admin.

        The new kubeconfig, written to ``kubeconfig``, keeps this one's cluster and CA.
        """
        document = yaml.safe_load(Path(self.kubeconfig).read_text())
        document["users"] = [{"name": "token", "user": {"token": token}}]
        document["contexts"][0]["context"]["user"] = "token"
        kubeconfig.write_text(yaml.safe_dump(document, sort_keys=False))
        kubeconfig.chmod(0o600)
        return Kubectl(binary=self.binary, kubeconfig=str(kubeconfig))

    def apply(self, *documents: dict[str, Any], namespace: str | None = None) -> str:
        """Server-side apply the documents."""
        args = ["apply", "--server-side", "--field-manager=ragline-tests", "-f", "-"]
        if namespace:
            args += ["-n", namespace]
        return self.check(*args, stdin=yaml.safe_dump_all(documents))


@dataclass
class KubeControlPlane:
    """etcd + kube-apiserver + controller-manager + scheduler + kwok, on loopback."""

    name: str = "kube"

    def install(self) -> None:
        """Build the pinned binaries (minutes the first time, cached after)."""
        for tool in (ETCD, CONTROL_PLANE, KWOK, HELM):
            tool.install()
        kwok_stages()

    def start(self, workdir: Path, *, tie_to_parent: bool, previous: PartState | None) -> PartState:
        """Start every component in order and wait for each to serve."""
        pki = ensure_pki(workdir / "pki")
        ports = {
            key: pick_port(previous, key)
            for key in ("etcd", "etcd-peer", "apiserver", "scheduler", "kwok")
        }
        server = f"https://127.0.0.1:{ports['apiserver']}"
        for client in ("admin", "controller-manager", "scheduler", "kwok"):
            (workdir / f"{client}.kubeconfig").write_text(
                kubeconfig(server=server, pki=pki, client=client)
            )
        state = PartState(
            name=self.name,
            pids=[],
            endpoints={
                "server": server,
                "kubeconfig": str(workdir / "admin.kubeconfig"),
                "kubectl": str(CONTROL_PLANE.path("kubectl")),
                "helm": str(HELM.path("helm")),
            },
            logs=[],
            ports=ports,
        )
        try:
            self._start_all(workdir, pki=pki, state=state, tie_to_parent=tie_to_parent)
        except BaseException:
            state.stop()
            raise
        return state

    def _spawn(
        self, state: PartState, workdir: Path, name: str, argv: list[str], *, tie: bool
    ) -> tuple[subprocess.Popen[bytes], Path]:
        log = workdir / f"{name}.log"
        proc = procs.spawn(argv, log=log, tie_to_parent=tie)
        state.pids.append(proc.pid)
        state.logs.append(str(log))
        return proc, log

    def _start_all(self, workdir: Path, *, pki: Pki, state: PartState, tie_to_parent: bool) -> None:
        ports = state.ports
        etcd_url = f"http://127.0.0.1:{ports['etcd']}"
        peer_url = f"http://127.0.0.1:{ports['etcd-peer']}"
        proc, log = self._spawn(
            state,
            workdir,
            "etcd",
            [
                str(ETCD.path("etcd")),
                "--name",
                "ragline",
                "--data-dir",
                str(workdir / "etcd"),
                "--listen-client-urls",
                etcd_url,
                "--advertise-client-urls",
                etcd_url,
                "--listen-peer-urls",
                peer_url,
                "--initial-advertise-peer-urls",
                peer_url,
                "--initial-cluster",
                f"ragline={peer_url}",
                "--unsafe-no-fsync",
                "--log-level",
                "warn",
                "--quota-backend-bytes",
                str(2 * 1024**3),
            ],
            tie=tie_to_parent,
        )
        procs.wait_until(
            lambda: procs.port_open(ports["etcd"]),
            what="etcd",
            timeout=START_TIMEOUT_SECONDS,
            proc=proc,
            log=log,
        )

        proc, log = self._spawn(
            state,
            workdir,
            "kube-apiserver",
            [
                str(CONTROL_PLANE.path("kube-apiserver")),
                f"--etcd-servers={etcd_url}",
                "--bind-address=127.0.0.1",
                "--advertise-address=127.0.0.1",
                f"--secure-port={ports['apiserver']}",
                f"--cert-dir={workdir / 'pki'}",
                f"--tls-cert-file={pki.cert('apiserver')}",
                f"--tls-private-key-file={pki.key('apiserver')}",
                f"--client-ca-file={pki.ca_cert}",
                "--service-account-issuer=https://kubernetes.default.svc.cluster.local",
                f"--service-account-key-file={pki.sa_pub}",
                f"--service-account-signing-key-file={pki.sa_key}",
                f"--service-cluster-ip-range={SERVICE_CIDR}",
                "--authorization-mode=RBAC",
                "--allow-privileged=true",
                "--endpoint-reconciler-type=none",
                "--profiling=false",
            ],
            tie=tie_to_parent,
        )
        procs.wait_until(
            lambda: readyz(ports["apiserver"], pki),
            what="kube-apiserver",
            timeout=START_TIMEOUT_SECONDS,
            proc=proc,
            log=log,
            interval=0.25,
        )

        self._spawn(
            state,
            workdir,
            "kube-controller-manager",
            [
                str(CONTROL_PLANE.path("kube-controller-manager")),
                f"--kubeconfig={workdir / 'controller-manager.kubeconfig'}",
                f"--authentication-kubeconfig={workdir / 'controller-manager.kubeconfig'}",
                f"--authorization-kubeconfig={workdir / 'controller-manager.kubeconfig'}",
                "--leader-elect=false",
                "--bind-address=127.0.0.1",
                "--secure-port=0",
                f"--service-account-private-key-file={pki.sa_key}",
                f"--root-ca-file={pki.ca_cert}",
                "--use-service-account-credentials=true",
                f"--cluster-signing-cert-file={pki.ca_cert}",
                f"--cluster-signing-key-file={pki.key('ca')}",
                "--concurrent-gc-syncs=5",
            ],
            tie=tie_to_parent,
        )
        self._spawn(
            state,
            workdir,
            "kube-scheduler",
            [
                str(CONTROL_PLANE.path("kube-scheduler")),
                f"--kubeconfig={workdir / 'scheduler.kubeconfig'}",
                f"--authentication-kubeconfig={workdir / 'scheduler.kubeconfig'}",
                f"--authorization-kubeconfig={workdir / 'scheduler.kubeconfig'}",
                "--leader-elect=false",
                "--bind-address=127.0.0.1",
                f"--secure-port={ports['scheduler']}",
            ],
            tie=tie_to_parent,
        )
        self._spawn(
            state,
            workdir,
            "kwok",
            [
                str(KWOK.path("kwok")),
                f"--kubeconfig={workdir / 'kwok.kubeconfig'}",
                f"--config={kwok_stages()}",
                "--manage-all-nodes=false",
                # Renew the fake node's Lease, or the node lifecycle controller marks it NotReady.
                "--node-lease-duration-seconds=40",
                "--manage-nodes-with-annotation-selector=kwok.x-k8s.io/node=fake",
                f"--cidr={POD_CIDR}",
                "--node-ip=127.0.0.1",
                f"--server-address=127.0.0.1:{ports['kwok']}",
            ],
            tie=tie_to_parent,
        )
        self._apply(state, yaml.safe_dump(FAKE_NODE))
        self._wait_node_ready(state)

    def kubectl(self, state: PartState, *args: str, stdin: str | None = None) -> str:
        """Run kubectl as the admin against this control plane; return its stdout."""
        return Kubectl.for_state(state).check(*args, stdin=stdin)

    def _apply(self, state: PartState, manifest: str) -> None:
        self.kubectl(state, "apply", "--server-side", "-f", "-", stdin=manifest)

    def _wait_node_ready(self, state: PartState) -> None:
        def ready() -> bool:
            try:
                status = self.kubectl(
                    state,
                    "get",
                    "node",
                    NODE_NAME,
                    "-o",
                    "jsonpath={.status.conditions[?(@.type=='Ready')].status}",
                )
            except KubectlError:
                return False
            return status.strip() == "True"

        procs.wait_until(
            ready, what="kwok node Ready", timeout=START_TIMEOUT_SECONDS, log=Path(state.logs[-1])
        )

    def healthy(self, state: PartState) -> bool:
        """The API server answers ``/readyz``."""
        return readyz(
            state.ports["apiserver"], Pki(Path(state.endpoints["kubeconfig"]).parent / "pki")
        )
