"""The scaler driven directly against the real control plane and real brokers."""

import base64
import ssl
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from ragline_dev.infra.kube import Kubectl
from ragline_dev.paths import REPO_ROOT
from ragline_operator.k8s.client import KubeClient
from ragline_operator.models import BackendType
from ragline_operator.scaling.lag import KafkaLagReader, LagReader, RedisLagReader
from ragline_operator.scaling.scaler import Scaler


@pytest.fixture
def crds_installed(kube: Kubectl) -> None:
    for path in sorted((REPO_ROOT / "crds").glob("*.yaml")):
        kube.check("apply", "--server-side", "--force-conflicts", "-f", str(path))
    for path in sorted((REPO_ROOT / "crds").glob("*.yaml")):
        name = yaml.safe_load(path.read_text())["metadata"]["name"]
        kube.check("wait", "--for=condition=Established", f"crd/{name}", "--timeout=30s")


@pytest.fixture
def admin_kubeconfig(kube: Kubectl) -> dict[str, Any]:
    config: dict[str, Any] = yaml.safe_load(Path(kube.kubeconfig).read_text())
    return config


@pytest.fixture
async def kube_client(admin_kubeconfig: dict[str, Any]) -> AsyncIterator[KubeClient]:
    config = admin_kubeconfig
    cluster = config["clusters"][0]["cluster"]
    user = config["users"][0]["user"]
    context = ssl.create_default_context(cafile=cluster["certificate-authority"])
    context.load_cert_chain(user["client-certificate"], user["client-key"])
    http = httpx.AsyncClient(base_url=cluster["server"], verify=context, timeout=10.0)
    client = KubeClient(http)
    yield client
    await client.aclose()


@pytest.fixture
async def scaler(kube_client: KubeClient) -> AsyncIterator[Scaler]:
    readers: dict[tuple[BackendType, str], LagReader] = {}

    async def reader_for(backend: BackendType, address: str) -> LagReader:
        if (backend, address) not in readers:
            readers[(backend, address)] = (
                await KafkaLagReader.connect(address)
                if backend is BackendType.KAFKA
                else RedisLagReader.from_url(address)
            )
        return readers[(backend, address)]

    yield Scaler(client=lambda: kube_client, reader_for=reader_for)
    for reader in readers.values():
        await reader.close()


def secret(name: str, **data: str) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": name},
        "data": {k: base64.b64encode(v.encode()).decode() for k, v in data.items()},
    }


def consumer_deployment(name: str, kind: str = "Deployment") -> dict[str, Any]:
    labels = {"app": name}
    return {
        "apiVersion": "apps/v1",
        "kind": kind,
        "metadata": {"name": name},
        "spec": {
            **({"serviceName": name} if kind == "StatefulSet" else {}),
            "selector": {"matchLabels": labels},
            "template": {
                "metadata": {"labels": labels},
                "spec": {"containers": [{"name": "c", "image": "example.invalid/consumer:1"}]},
            },
        },
    }


def eventstream(
    name: str,
    backend: dict[str, Any],
    *,
    worker: str,
    worker_kind: str = "Deployment",
    **autoscaling: Any,
) -> dict[str, Any]:
    return {
        "apiVersion": "ragline.dev/v1alpha1",
        "kind": "EventStream",
        "metadata": {"name": name},
        "spec": {
            "backend": backend,
            "outbox": {"database": {"secretKeyRef": {"name": "db", "key": "dsn"}}},
            "consumers": [
                {"group": "billing", "workloadRef": {"kind": worker_kind, "name": worker}}
            ],
            "autoscaling": {"pollInterval": "1s", **autoscaling},
        },
    }


@pytest.fixture
def body(kube: Kubectl, namespace: str) -> Callable[[str], dict[str, Any]]:
    def get(name: str) -> dict[str, Any]:
        found: dict[str, Any] = kube.json("get", "eventstream", name, "-n", namespace)
        return found

    return get


def replicas(kube: Kubectl, namespace: str, deployment: str, kind: str = "deployment") -> int:
    spec = kube.json("get", kind, deployment, "-n", namespace)["spec"]
    return int(spec["replicas"])
