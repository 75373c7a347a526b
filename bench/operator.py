"""The operator at scale: 100 TenantConfigs, 20 EventStreams and 100 RagPipelines applied at once.

A private control plane (etcd, kube-apiserver, controller-manager, scheduler, kwok), PostgreSQL and
Valkey start in a temporary directory; the operator runs as a local process under its generated
RBAC, with its default settings. The resources are spread over ten namespaces (a tenant registry
per namespace, as a platform team would have them) and applied with one ``kubectl apply``.

Figures:

- ``all_ready_s``: from the apply until every resource is Ready for its generation (aim ≤ 60 s);
  ``baseline_ready_s``: the same control plane bringing up the same workload shape created
  directly by kubectl (240 Deployments, 200 Jobs, 240 Services), and ``ready_ratio`` between them:
  what the operator adds on top of what Kubernetes itself takes.
- ``operator_rss_mb``: the operator process's peak resident memory while converging.
- ``api_requests``: requests the operator made, counted by the API server itself (API Priority and
  Fairness dispatches of a FlowSchema matching only the operator's ServiceAccount), and
  ``requests_per_object``.
"""

from __future__ import annotations

import copy
import re
import shutil
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from ragline_dev.infra import Part, Stack
from ragline_dev.infra.kube import KubeControlPlane, Kubectl
from ragline_dev.infra.postgres import Postgres
from ragline_dev.infra.valkey import Valkey
from ragline_dev.operator_part import (
    OPERATOR_NAMESPACE,
    SERVICE_ACCOUNT,
    install_crds,
    install_rbac,
    issue_token,
    sample_resources,
    sample_secrets,
    start_operator,
)
from ragline_dev.procs import free_port, stop

NAMESPACES = 10
TENANTS, STREAMS, PIPELINES = 100, 20, 100
READY_TIMEOUT_S = 300.0
POLL_S = 0.5
FLOW_SCHEMA = "ragline-operator-bench"
DISPATCHED = re.compile(
    r'^apiserver_flowcontrol_dispatched_requests_total\{flow_schema="'
    + FLOW_SCHEMA
    + r'",[^}]*\} (\d+)',
    re.MULTILINE,
)
READY_COLUMNS = (
    "custom-columns=G:.metadata.generation,O:.status.observedGeneration,"
    'R:.status.conditions[?(@.type=="Ready")].status'
)


def _sample(kind: str, name: str | None = None) -> dict[str, Any]:
    for document in sample_resources(kafka=False):
        if document["kind"] == kind and (name is None or document["metadata"]["name"] == name):
            return copy.deepcopy(document)
    raise LookupError(kind)


def _named(document: dict[str, Any], name: str, namespace: str) -> dict[str, Any]:
    named = copy.deepcopy(document)
    named["metadata"] = {"name": name, "namespace": namespace}
    return named


def prerequisites(dsn: str, redis_url: str) -> list[dict[str, Any]]:
    """Namespaces with the Secrets and menu the custom resources reference."""
    menu = _sample("ConfigMap")
    secrets = sample_secrets(
        {"ragline-postgres": {"dsn": dsn}, "ragline-redis": {"url": redis_url}}
    )
    documents: list[dict[str, Any]] = []
    for n in range(NAMESPACES):
        namespace = f"bench-{n}"
        documents.append({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": namespace}})
        documents += [_named(s, s["metadata"]["name"], namespace) for s in secrets]
        documents.append(_named(menu, "demo-menu", namespace))
    return documents


def custom_resources() -> list[dict[str, Any]]:
    """The TenantConfigs, EventStreams and RagPipelines, spread over the namespaces."""
    tenant, stream = _sample("TenantConfig"), _sample("EventStream")
    pipeline = _sample("RagPipeline")
    pipeline["spec"].pop("llm")  # retrieve-only: no model endpoint on this machine
    documents: list[dict[str, Any]] = []
    for i in range(TENANTS):
        doc = _named(tenant, f"tenant-{i}", f"bench-{i % NAMESPACES}")
        doc["spec"]["tenantId"] = f"tenant-{i}"
        documents.append(doc)
    for i in range(STREAMS):
        doc = _named(stream, f"orders-{i}", f"bench-{i % NAMESPACES}")
        doc["spec"]["backend"]["redis"]["stream"] = f"bench.orders.{i}"
        documents.append(doc)
    for i in range(PIPELINES):
        doc = _named(pipeline, f"shop-{i}", f"bench-{i % NAMESPACES}")
        doc["spec"]["eventStreamRef"] = {"name": f"orders-{i % STREAMS}"}
        documents.append(doc)
    return documents


def baseline() -> list[dict[str, Any]]:
    """The operator's workload shape, created directly: Deployments, Jobs and Services."""
    namespace = "bench-baseline"
    pod = {"containers": [{"name": "c", "image": "example.invalid/ragline:bench"}]}
    documents: list[dict[str, Any]] = [
        {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": namespace}}
    ]
    for i in range(2 * PIPELINES + 2 * STREAMS):
        labels = {"app": f"d{i}"}
        meta = {"name": f"d{i}", "namespace": namespace}
        documents.append(
            {
                "apiVersion": "apps/v1",
                "kind": "Deployment",
                "metadata": meta,
                "spec": {
                    "replicas": 1,
                    "selector": {"matchLabels": labels},
                    "template": {"metadata": {"labels": labels}, "spec": pod},
                },
            }
        )
        documents.append(
            {
                "apiVersion": "v1",
                "kind": "Service",
                "metadata": meta,
                "spec": {"selector": labels, "ports": [{"port": 8080}]},
            }
        )
    for i in range(2 * PIPELINES):
        documents.append(
            {
                "apiVersion": "batch/v1",
                "kind": "Job",
                "metadata": {"name": f"j{i}", "namespace": namespace},
                "spec": {"template": {"spec": {**pod, "restartPolicy": "Never"}}},
            }
        )
    return documents


def apply_at_once(admin: Kubectl, documents: list[dict[str, Any]]) -> None:
    """Apply with one kubectl per namespace, all at the same time (kubectl applies serially)."""
    by_namespace: dict[str, list[dict[str, Any]]] = {}
    for document in documents:
        by_namespace.setdefault(document["metadata"].get("namespace", ""), []).append(document)
    cluster_scoped = by_namespace.pop("", [])
    if cluster_scoped:  # the namespaces themselves, first
        admin.apply(*cluster_scoped)
    with ThreadPoolExecutor(max_workers=len(by_namespace)) as pool:
        for applied in [pool.submit(admin.apply, *docs) for docs in by_namespace.values()]:
            applied.result()


def _baseline_ready(admin: Kubectl) -> bool:
    available = admin.check(
        "get", "deployments", "-n", "bench-baseline", "--no-headers",
        "-o", "custom-columns=A:.status.availableReplicas",
    ).split()  # fmt: skip
    done = admin.check(
        "get", "jobs", "-n", "bench-baseline", "--no-headers",
        "-o", "custom-columns=S:.status.succeeded",
    ).split()  # fmt: skip
    return (
        len(available) == 2 * PIPELINES + 2 * STREAMS
        and all(a == "1" for a in available)
        and len(done) == 2 * PIPELINES
        and all(d == "1" for d in done)
    )


def _not_ready(admin: Kubectl, expected: int) -> int:
    rows = admin.check(
        "get", "tenantconfigs,eventstreams,ragpipelines", "-A", "--no-headers", "-o", READY_COLUMNS
    ).splitlines()
    ready = 0
    for row in rows:
        generation, observed, *condition = row.split()
        ready += generation == observed and condition == ["True"]
    return expected - ready


def _dispatched(admin: Kubectl) -> int:
    return sum(int(n) for n in DISPATCHED.findall(admin.check("get", "--raw", "/metrics")))


def _rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def _count_operator_requests(admin: Kubectl) -> None:
    subject = {"name": SERVICE_ACCOUNT, "namespace": OPERATOR_NAMESPACE}
    everything = {"verbs": ["*"], "apiGroups": ["*"], "resources": ["*"]}
    admin.apply(
        {
            "apiVersion": "flowcontrol.apiserver.k8s.io/v1",
            "kind": "FlowSchema",
            "metadata": {"name": FLOW_SCHEMA},
            "spec": {
                "matchingPrecedence": 500,
                "priorityLevelConfiguration": {"name": "workload-high"},
                "distinguisherMethod": {"type": "ByUser"},
                "rules": [
                    {
                        "subjects": [{"kind": "ServiceAccount", "serviceAccount": subject}],
                        "resourceRules": [
                            {**everything, "clusterScope": True, "namespaces": ["*"]}
                        ],
                        "nonResourceRules": [{"verbs": ["*"], "nonResourceURLs": ["*"]}],
                    }
                ],
            },
        }
    )


def _until(check: Any, what: str) -> float:
    started = time.monotonic()
    while not check():
        if time.monotonic() - started > READY_TIMEOUT_S:
            raise TimeoutError(f"{what}: not done after {READY_TIMEOUT_S:.0f}s")
        time.sleep(POLL_S)
    return time.monotonic() - started


def run() -> dict[str, Any]:
    """Start everything privately, measure the baseline, then the operator."""
    root = Path(tempfile.mkdtemp(prefix="ragline-bench-operator-"))
    parts: list[Part] = [Postgres(durable=False), Valkey(durable=False), KubeControlPlane()]
    try:
        with Stack(root=root, parts=parts) as stack:
            return _measure(root, Kubectl.for_state(stack.states["kube"]), stack)
    finally:
        shutil.rmtree(root, ignore_errors=True)


def _measure(root: Path, admin: Kubectl, stack: Stack) -> dict[str, Any]:
    install_crds(admin)
    install_rbac(admin)
    _count_operator_requests(admin)

    started = time.monotonic()
    apply_at_once(admin, baseline())
    _until(lambda: _baseline_ready(admin), "the baseline workload")
    baseline_s = time.monotonic() - started
    admin.check("delete", "namespace", "bench-baseline", "--timeout=120s")

    kubeconfig = root / "operator.kubeconfig"
    admin.with_token(issue_token(admin), kubeconfig)
    before = _dispatched(admin)
    proc = start_operator(
        kubeconfig=kubeconfig, log=root / "operator.log", liveness_port=free_port()
    )
    try:
        admin.apply(
            *prerequisites(
                stack.states["postgres"].endpoints["dsn"], stack.states["valkey"].endpoints["url"]
            )
        )
        documents = custom_resources()
        expected = TENANTS + STREAMS + PIPELINES
        peak = _rss_mb(proc.pid)
        started = time.monotonic()
        apply_at_once(admin, documents)

        def converged() -> bool:
            nonlocal peak
            peak = max(peak, _rss_mb(proc.pid))
            return _not_ready(admin, expected) == 0

        _until(converged, "every custom resource Ready")
        all_ready_s = time.monotonic() - started
        requests = _dispatched(admin) - before
    finally:
        stop(proc.pid)
    return {
        "objects": expected,
        "all_ready_s": round(all_ready_s, 1),
        "baseline_ready_s": round(baseline_s, 1),
        "ready_ratio": round(all_ready_s / baseline_s, 2),
        "operator_rss_mb": round(peak, 1),
        "api_requests": requests,
        "requests_per_object": round(requests / expected, 1),
        "aim_all_ready_s": 60,
    }
