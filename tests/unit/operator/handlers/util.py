"""Calling handlers the way Kopf does, against KMock."""

from __future__ import annotations

import inspect
import logging
from collections.abc import Callable, Sequence
from typing import Any, cast

import kmock
import kopf

from ragline_operator.reconcile.registry import TenantSource, tenant_source
from tests.unit.operator.samples import NAMESPACE

Handler = Callable[..., object]


def index_of(*bodies: dict[str, Any]) -> dict[str, list[TenantSource]]:
    """A ``tenantconfig_index`` as Kopf would hold it for these TenantConfig bodies."""
    sources = [
        tenant_source(
            name=b["metadata"]["name"],
            uid=b["metadata"]["uid"],
            created=b["metadata"]["creationTimestamp"],
            namespace=b["metadata"]["namespace"],
            spec=b["spec"],
            status=b.get("status", {}),
        )
        for b in bodies
    ]
    return {NAMESPACE: sources} if sources else {}


async def call(
    handler: Handler,
    obj: dict[str, Any],
    memo: kopf.Memo,
    *,
    tenants: Sequence[dict[str, Any]] = (),
    retry: int = 0,
) -> kopf.Patch:
    """Invoke a create/update/resume handler; return the patch it left for Kopf to apply."""
    patch = kopf.Patch()
    result = handler(
        body=kopf.Body(cast(kopf.RawBody, obj)),
        namespace=obj["metadata"]["namespace"],
        memo=memo,
        patch=patch,
        retry=retry,
        tenantconfig_index=index_of(*tenants),
        logger=logging.getLogger("test"),
    )
    if inspect.isawaitable(result):
        await result
    return patch


def with_status(obj: dict[str, Any], patch: kopf.Patch) -> dict[str, Any]:
    """The object after Kopf applied the status part of ``patch``."""
    status = {**obj.get("status", {}), **patch.get("status", {})}
    return {**obj, "status": {k: v for k, v in status.items() if v is not None}}


def conditions(status: dict[str, Any]) -> dict[str, tuple[str, str]]:
    """Condition type → (status, reason)."""
    return {c["type"]: (c["status"], c["reason"]) for c in status.get("conditions", [])}


def stored(api: kmock.KubernetesEmulator, resource: str, name: str) -> dict[str, Any] | None:
    """An object as KMock holds it, or None."""
    try:
        obj = api.objects[resource, NAMESPACE, name]
    except KeyError:
        return None
    return None if obj.deleted else dict(obj.raw)


def put(api: kmock.KubernetesEmulator, resource: str, obj: dict[str, Any]) -> None:
    """Store an object directly (as if another client had created it)."""
    api.objects[resource, NAMESPACE, obj["metadata"]["name"]] = obj


def events(api: kmock.KubernetesEmulator) -> list[dict[str, Any]]:
    """Events posted so far."""
    return [
        dict(obj.raw)
        for (resource, _, _), obj in api.objects.items()
        if resource.plural == "events" and not obj.deleted
    ]


async def invoke(handler: Handler, **kwargs: Any) -> None:
    """Call any Kopf handler with exactly the kwargs given (awaiting it if it is async)."""
    result = handler(**kwargs)
    if inspect.isawaitable(result):
        await result
