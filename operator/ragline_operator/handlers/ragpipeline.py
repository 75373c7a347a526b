"""RagPipeline handlers: migration, ingestion, API and chat, on every change and periodically."""

from __future__ import annotations

from typing import Any

import kopf

from ragline_operator.controllers.ragpipeline import reconcile_ragpipeline
from ragline_operator.handlers.common import handle, tenants_of
from ragline_operator.handlers.tenantconfig import TenantIndex
from ragline_operator.models import RAGPIPELINE
from ragline_operator.models.base import GROUP, VERSION

PLURAL = RAGPIPELINE.plural


@kopf.index(GROUP, VERSION, PLURAL)
def ragpipeline_bodies(*, body: kopf.Body, namespace: str | None, **_: Any) -> dict[str, Any]:
    """Every ragpipeline body by namespace, for the periodic resync loop."""
    return {namespace or "": dict(body)}


@kopf.on.create(GROUP, VERSION, PLURAL)
async def ragpipeline_create(
    *,
    body: kopf.Body,
    namespace: str | None,
    memo: kopf.Memo,
    patch: kopf.Patch,
    retry: int,
    tenantconfig_index: TenantIndex | None = None,
    **_: Any,
) -> None:
    """A new resource: create every child."""
    tenants = tenants_of(tenantconfig_index, namespace)
    await handle(
        reconcile_ragpipeline, body=body, memo=memo, patch=patch, tenants=tenants, retry=retry
    )


@kopf.on.update(GROUP, VERSION, PLURAL)
async def ragpipeline_update(
    *,
    body: kopf.Body,
    namespace: str | None,
    memo: kopf.Memo,
    patch: kopf.Patch,
    retry: int,
    tenantconfig_index: TenantIndex | None = None,
    **_: Any,
) -> None:
    """A changed spec (or annotations): roll the children forward."""
    tenants = tenants_of(tenantconfig_index, namespace)
    await handle(
        reconcile_ragpipeline, body=body, memo=memo, patch=patch, tenants=tenants, retry=retry
    )


@kopf.on.resume(GROUP, VERSION, PLURAL)
async def ragpipeline_resume(
    *,
    body: kopf.Body,
    namespace: str | None,
    memo: kopf.Memo,
    patch: kopf.Patch,
    retry: int,
    tenantconfig_index: TenantIndex | None = None,
    **_: Any,
) -> None:
    """Operator restart: converge whatever happened while it was away."""
    tenants = tenants_of(tenantconfig_index, namespace)
    await handle(
        reconcile_ragpipeline, body=body, memo=memo, patch=patch, tenants=tenants, retry=retry
    )
