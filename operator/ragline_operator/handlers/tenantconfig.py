"""TenantConfig handlers: keys and registry on every change, periodically, and on deletion."""

from __future__ import annotations

from typing import Any

import kopf

from ragline_operator.controllers.tenantconfig import publish_registry, reconcile_tenantconfig
from ragline_operator.handlers.common import operator_state, reconcile_handlers, tenants_of
from ragline_operator.models import TENANTCONFIG
from ragline_operator.models.base import GROUP, VERSION
from ragline_operator.reconcile.registry import TenantSource, tenant_source

PLURAL = TENANTCONFIG.plural
TenantIndex = kopf.Index[str, TenantSource]


@kopf.index(GROUP, VERSION, PLURAL)
def tenantconfig_index(
    *,
    name: str,
    namespace: str | None,
    uid: str,
    meta: kopf.Meta,
    spec: kopf.Spec,
    status: kopf.Status,
    **_: Any,
) -> dict[str, TenantSource]:
    """Every TenantConfig by namespace: the registry and the workloads' key mounts need them."""
    source = tenant_source(
        name=name,
        uid=uid,
        created=str(meta.get("creationTimestamp", "")),
        namespace=namespace or "",
        spec=spec,
        status=status,
    )
    return {namespace or "": source}


@kopf.index(GROUP, VERSION, PLURAL)
def tenantconfig_bodies(*, body: kopf.Body, namespace: str | None, **_: Any) -> dict[str, Any]:
    """Every tenantconfig body by namespace, for the periodic resync loop."""
    return {namespace or "": dict(body)}


# Every change (a rotation request or the pause come as annotations) and every operator restart:
# one reconcile pass (keys and the registry).
tenantconfig_create, tenantconfig_update, tenantconfig_resume = reconcile_handlers(
    reconcile_tenantconfig, plural=PLURAL, prefix="tenantconfig"
)


def _is_deletion(*, type: str, **_: Any) -> bool:
    """Only deletions matter to the event handler (and other events then log nothing)."""
    return type == "DELETED"


@kopf.on.event(GROUP, VERSION, PLURAL, when=_is_deletion)
async def tenantconfig_event(
    *,
    namespace: str | None,
    memo: kopf.Memo,
    logger: kopf.Logger,
    tenantconfig_index: TenantIndex | None = None,
    **_: Any,
) -> None:
    """A deleted TenantConfig leaves the registry at once (its key Secret goes with it)."""
    if namespace is None:
        return
    state = operator_state(memo)
    tenants = tenants_of(tenantconfig_index, namespace)
    lock = state.registry_lock(namespace)
    await publish_registry(state.kube.client, namespace, tenants, lock=lock)
    logger.info("tenant registry of %s republished after a deletion", namespace)
