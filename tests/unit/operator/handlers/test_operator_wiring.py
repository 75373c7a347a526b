"""The whole operator (``ragline_operator.main``) running in Kopf against KMock.

This proves the wiring a direct handler call cannot: decorators, index names passed as kwargs,
startup/login handlers, status and annotation patches through Kopf. KMock does not validate or
run controllers; the real control plane (e2e) proves the rest.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import kmock
import kopf
import pytest
import yaml

# Importing main registers every handler into Kopf's default registry (once per process).
import ragline_operator.main  # noqa: F401
from tests.unit.operator.handlers.util import stored
from tests.unit.operator.samples import NAMESPACE, body, tenant_spec

KINDS = {
    "tenantconfigs": "TenantConfig",
    "eventstreams": "EventStream",
    "ragpipelines": "RagPipeline",
}


def kubeconfig(path: Path, server: str) -> Path:
    config = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": "kmock", "cluster": {"server": server}}],
        "users": [{"name": "test", "user": {"token": "test"}}],
        "contexts": [{"name": "kmock", "context": {"cluster": "kmock", "user": "test"}}],
        "current-context": "kmock",
    }
    path.write_text(yaml.safe_dump(config))
    return path


async def until(condition: object, limit: float = 10.0) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + limit
    while not condition():  # type: ignore[operator]
        assert loop.time() < deadline, "the operator did not get there in time"
        await asyncio.sleep(0.05)


async def test_the_operator_reconciles_a_tenantconfig_end_to_end(
    api: kmock.KubernetesEmulator, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Kopf waits for these to be discovered before it watches anything.
    api.resources["v1/namespaces"] = kmock.ResourceInfo()
    api.resources["apiextensions.k8s.io/v1/customresourcedefinitions"] = kmock.ResourceInfo()
    for plural, kind in KINDS.items():
        api.resources[f"ragline.dev/v1alpha1/{plural}"] = kmock.ResourceInfo(
            kind=kind,
            namespaced=True,
            subresources={"status"},
            verbs={"get", "list", "watch", "patch"},
        )
    api.objects["ragline.dev/v1alpha1/tenantconfigs", NAMESPACE, "acme"] = body(
        "TenantConfig", "acme", tenant_spec()
    )
    monkeypatch.setenv("KUBECONFIG", str(kubeconfig(tmp_path / "config", str(api.url))))
    monkeypatch.setenv("RAGLINE_OPERATOR_IMAGE", "example.test/ragline:1.0")
    registry = kopf.get_default_registry()

    stop = asyncio.Event()
    operator = asyncio.create_task(
        kopf.operator(registry=registry, clusterwide=True, standalone=True, stop_flag=stop)
    )
    try:
        await until(lambda: stored(api, "v1/secrets", "acme-signing-key") is not None)
        await until(lambda: stored(api, "v1/configmaps", "ragline-tenants") is not None)
        tenant = api.objects["ragline.dev/v1alpha1/tenantconfigs", NAMESPACE, "acme"]
        await until(lambda: "keyId" in tenant.raw.get("status", {}))
    finally:
        stop.set()
        await asyncio.wait_for(operator, timeout=15)
    assert not tenant.raw["metadata"].get("finalizers"), "no finalizer: namespaces never hang"


def test_no_handler_makes_kopf_put_a_finalizer_on_anything() -> None:
    """Deleting a namespace must never wait for the operator, running or not."""
    registry = kopf.get_default_registry()

    assert registry._spawning.get_all_handlers() == []  # no timers, no daemons
    deletion = [h for h in registry._changing.get_all_handlers() if h.reason == "delete"]
    assert deletion == []
    watched = {str(h.selector) for h in registry._watching.get_all_handlers()}
    assert any("secrets" in s for s in watched)
    assert any("configmaps" in s for s in watched)


def test_every_kind_reconciles_on_create_update_and_resume_under_stable_ids() -> None:
    """Kopf records handler ids in each object's annotations: a renamed id re-runs or orphans."""
    registry = kopf.get_default_registry()
    handlers = {str(h.id): h for h in registry._changing.get_all_handlers()}

    for plural, kind in KINDS.items():
        prefix = kind.lower()
        create, update, resume = (handlers[f"{prefix}_{e}"] for e in ("create", "update", "resume"))
        selectors = {h.selector for h in (create, update, resume)}
        assert {s.any_name for s in selectors if s is not None} == {plural}
        assert None not in selectors
        assert (create.reason, update.reason) == ("create", "update")
        assert resume.initial
    assert len(handlers) == 3 * len(KINDS)
