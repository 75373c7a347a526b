"""The local control plane is a real Kubernetes: scheduling, CRDs, CEL, GC, RBAC, Helm."""

import json
import subprocess
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from ragline_dev.infra.kube import NODE_NAME, Kubectl

pytestmark = [pytest.mark.smoke, pytest.mark.e2e]

WAIT_SECONDS = 60.0
TINY_CHART = Path(__file__).parent / "charts" / "tiny"


def eventually(check: Callable[[], bool], what: str) -> None:
    deadline = time.monotonic() + WAIT_SECONDS
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.25)
    raise AssertionError(f"not true after {WAIT_SECONDS:.0f}s: {what}")


def test_api_server_reports_the_pinned_release(kube: Kubectl) -> None:
    version = json.loads(kube.check("get", "--raw", "/version"))
    assert version["gitVersion"] == "v1.36.3"
    assert (version["major"], version["minor"]) == ("1", "36")


def test_deployment_becomes_a_running_ready_pod(kube: Kubectl, namespace: str) -> None:
    kube.check("create", "deployment", "web", "--image=example.invalid/web:1", "-n", namespace)

    def pod_ready() -> bool:
        pods = kube.json("get", "pods", "-n", namespace, "-l", "app=web")["items"]
        return any(
            pod["status"].get("phase") == "Running"
            and {c["type"]: c["status"] for c in pod["status"].get("conditions", [])}.get("Ready")
            == "True"
            for pod in pods
        )

    eventually(pod_ready, "the Deployment's Pod is Running and Ready")
    eventually(
        lambda: (
            kube.json("get", "deployment", "web", "-n", namespace)["status"].get(
                "availableReplicas"
            )
            == 1
        ),
        "the Deployment reports one available replica",
    )


def test_kwok_holds_and_renews_the_fake_nodes_lease(kube: Kubectl) -> None:
    """kwok keeps the node Ready through its Lease (not a status heartbeat every ~10 minutes).

    kwok manages a node's pods only while it holds that node's Lease: anyone else renewing it
    (a test helper once did) silently stops every pod from becoming Ready.
    """

    def lease() -> dict[str, Any]:
        spec: dict[str, Any] = kube.json("get", "lease", NODE_NAME, "-n", "kube-node-lease")["spec"]
        return spec

    first = lease()
    assert first["holderIdentity"] != NODE_NAME  # kwok's own identity, not a borrowed name
    assert first["leaseDurationSeconds"] == 40
    eventually(lambda: lease()["renewTime"] != first["renewTime"], "kwok renews the node's Lease")
    renewed = lease()
    assert renewed["holderIdentity"] == first["holderIdentity"]


WIDGET_CRD: dict[str, Any] = {
    "apiVersion": "apiextensions.k8s.io/v1",
    "kind": "CustomResourceDefinition",
    "metadata": {"name": "widgets.smoke.ragline.dev"},
    "spec": {
        "group": "smoke.ragline.dev",
        "scope": "Namespaced",
        "names": {"plural": "widgets", "singular": "widget", "kind": "Widget"},
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
                                "x-kubernetes-validations": [
                                    {
                                        "rule": "self.minReplicas <= self.maxReplicas",
                                        "message": "minReplicas must not exceed maxReplicas",
                                        "fieldPath": ".minReplicas",
                                    }
                                ],
                                "properties": {
                                    "mode": {"type": "string", "enum": ["Fast", "Safe"]},
                                    "minReplicas": {"type": "integer", "minimum": 0},
                                    "maxReplicas": {"type": "integer", "maximum": 10},
                                },
                            }
                        },
                    }
                },
            }
        ],
    },
}


def widget(name: str, **spec: Any) -> dict[str, Any]:
    return {
        "apiVersion": "smoke.ragline.dev/v1",
        "kind": "Widget",
        "metadata": {"name": name},
        "spec": spec,
    }


@pytest.fixture
def widget_crd(kube: Kubectl) -> str:
    kube.apply(WIDGET_CRD)
    eventually(
        lambda: (
            kube.run(
                "wait",
                "--for=condition=Established",
                "crd/widgets.smoke.ragline.dev",
                "--timeout=5s",
            ).returncode
            == 0
        ),
        "the CRD is Established",
    )
    return "widgets.smoke.ragline.dev"


def test_crd_schema_refuses_an_invalid_field_naming_it(
    kube: Kubectl, widget_crd: str, namespace: str
) -> None:
    kube.apply(widget("good", mode="Fast", minReplicas=1, maxReplicas=3), namespace=namespace)
    assert kube.json("get", "widget", "good", "-n", namespace)["spec"]["mode"] == "Fast"

    with pytest.raises(Exception, match=r"spec\.mode.*Unsupported value: \"Turbo\""):
        kube.apply(widget("bad", mode="Turbo", minReplicas=1, maxReplicas=3), namespace=namespace)
    with pytest.raises(Exception, match=r"spec\.maxReplicas.*should be less than or equal to 10"):
        kube.apply(widget("big", mode="Safe", minReplicas=1, maxReplicas=11), namespace=namespace)


def test_crd_cel_rule_is_enforced(kube: Kubectl, widget_crd: str, namespace: str) -> None:
    with pytest.raises(Exception, match=r"spec\.minReplicas.*minReplicas must not exceed"):
        kube.apply(
            widget("inverted", mode="Safe", minReplicas=5, maxReplicas=2), namespace=namespace
        )
    assert kube.run("get", "widget", "inverted", "-n", namespace).returncode != 0


def test_deleting_an_owner_garbage_collects_its_children(kube: Kubectl, namespace: str) -> None:
    owner = kube.json("create", "configmap", "owner", "-n", namespace)
    child = {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {
            "name": "child",
            "ownerReferences": [
                {
                    "apiVersion": "v1",
                    "kind": "ConfigMap",
                    "name": "owner",
                    "uid": owner["metadata"]["uid"],
                }
            ],
        },
        "data": {"x": "1"},
    }
    kube.apply(child, namespace=namespace)
    assert kube.run("get", "configmap", "child", "-n", namespace).returncode == 0

    kube.check("delete", "configmap", "owner", "-n", namespace)
    eventually(
        lambda: kube.run("get", "configmap", "child", "-n", namespace).returncode != 0,
        "the child ConfigMap is garbage-collected",
    )


def test_rbac_is_enforced_for_service_accounts(
    kube: Kubectl, namespace: str, tmp_path: Path
) -> None:
    kube.check("create", "serviceaccount", "nobody", "-n", namespace)
    token = kube.check("create", "token", "nobody", "-n", namespace).strip()
    nobody = kube.with_token(token, tmp_path / "nobody.kubeconfig")
    assert nobody.check("auth", "whoami", "-o", "jsonpath={.status.userInfo.username}") == (
        f"system:serviceaccount:{namespace}:nobody"
    )

    denied = nobody.run("get", "secrets", "-n", namespace)
    assert denied.returncode != 0
    assert "forbidden" in denied.stderr.lower()

    kube.check(
        "create", "role", "read-secrets", "--verb=get,list", "--resource=secrets", "-n", namespace
    )
    kube.check(
        "create",
        "rolebinding",
        "nobody-reads",
        "--role=read-secrets",
        f"--serviceaccount={namespace}:nobody",
        "-n",
        namespace,
    )
    eventually(
        lambda: nobody.run("get", "secrets", "-n", namespace).returncode == 0,
        "the RoleBinding grants the ServiceAccount access",
    )


def test_helm_installs_upgrades_and_uninstalls_a_chart(
    kube: Kubectl, helm: str, namespace: str
) -> None:
    release = f"r{uuid.uuid4().hex[:6]}"

    def run(*args: str) -> str:
        result = subprocess.run(
            [helm, f"--kubeconfig={kube.kubeconfig}", "-n", namespace, *args],
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        assert result.returncode == 0, result.stderr
        return result.stdout

    run("install", release, str(TINY_CHART), "--wait", "--timeout", "60s")
    configmap = kube.json("get", "configmap", f"{release}-tiny", "-n", namespace)
    assert configmap["data"] == {"greeting": "hello", "kubeVersion": "v1.36.3"}

    run("upgrade", release, str(TINY_CHART), "--set", "greeting=bonjour")
    configmap = kube.json("get", "configmap", f"{release}-tiny", "-n", namespace)
    assert configmap["data"]["greeting"] == "bonjour"

    run("uninstall", release, "--wait")
    assert kube.run("get", "configmap", f"{release}-tiny", "-n", namespace).returncode != 0
