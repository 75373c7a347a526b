"""The tenant registry of a namespace, rendered from all its TenantConfigs.

Two TenantConfigs claiming the same ``tenantId`` conflict: the older one (creation time, then
name) stays in the registry, the newer one reports ``Ready=False`` with reason
``DuplicateTenantId``. The registry's ``generation`` is bumped only when its content changes,
so republishing an unchanged registry writes nothing.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError

from ragline_common.registry import (
    REGISTRY_KEY,
    SigningKey,
    TenantAuth,
    TenantEntry,
    TenantLimits,
    TenantRegistry,
)
from ragline_operator.models import TenantConfigSpec, TenantLimitsSpec
from ragline_operator.resources.common import OwnerRef
from ragline_operator.resources.tenant import KeyRecord, signing_key_secret_name


def default_issuer(namespace: str, tenant_id: str) -> str:
    """The ``iss`` of tokens signed with operator-generated keys."""
    return f"urn:ragline:{namespace}:{tenant_id}"


def uses_generated_keys(spec: TenantConfigSpec) -> bool:
    """Whether the operator generates this tenant's signing key (no external issuer)."""
    return spec.auth is None or spec.auth.jwks_url is None


def tenant_entry(
    spec: TenantConfigSpec, *, namespace: str, keys: Sequence[KeyRecord]
) -> TenantEntry:
    """The registry entry of one tenant (metadata of its keys, never their material)."""
    auth = spec.auth
    if auth is not None and auth.jwks_url is not None and auth.issuer is not None:
        tenant_auth = TenantAuth(issuer=auth.issuer, audience=auth.audience, jwks_url=auth.jwks_url)
    else:
        tenant_auth = TenantAuth(
            issuer=default_issuer(namespace, spec.tenant_id),
            audience=auth.audience if auth else "ragline",
            signing_keys=[SigningKey(kid=k.kid, not_after=k.not_after) for k in keys],
        )
    limits = spec.limits or TenantLimitsSpec()
    return TenantEntry(
        tenant_id=spec.tenant_id,
        display_name=spec.display_name,
        state=spec.state,
        auth=tenant_auth,
        limits=TenantLimits(**limits.model_dump()),
        tools=list(dict.fromkeys(spec.tools)),
    )


@dataclass(frozen=True)
class TenantSource:
    """What one TenantConfig contributes to its namespace's registry (kept in a Kopf index)."""

    name: str
    uid: str
    created: str
    tenant_id: str | None
    entry: TenantEntry | None
    secret_name: str | None = None


def tenant_source(
    *,
    name: str,
    uid: str,
    created: str,
    namespace: str,
    spec: Mapping[str, Any],
    status: Mapping[str, Any],
) -> TenantSource:
    """Index one TenantConfig; an invalid spec contributes nothing."""
    try:
        parsed = TenantConfigSpec.model_validate(dict(spec))
        keys = [KeyRecord.from_json(k) for k in status.get("signingKeys") or []]
    except (ValidationError, ValueError, KeyError, TypeError):
        return TenantSource(name=name, uid=uid, created=created, tenant_id=None, entry=None)
    # The Secret's name is known before the TenantConfig's first pass wrote it into status, so
    # workloads created together with the tenant mount its key from the start (the volume is
    # optional) instead of rolling out a second time once the status arrives.
    owner = OwnerRef(kind="TenantConfig", name=name, uid=uid)
    secret = signing_key_secret_name(owner) if uses_generated_keys(parsed) else None
    return TenantSource(
        name=name,
        uid=uid,
        created=created,
        tenant_id=parsed.tenant_id,
        entry=tenant_entry(parsed, namespace=namespace, keys=keys),
        secret_name=str(secret) if secret else None,
    )


@dataclass(frozen=True)
class Selection:
    """Which TenantConfig wins each tenant id."""

    winners: Mapping[str, TenantSource]
    losers: Mapping[str, str]  # TenantConfig name → name of the one that holds its tenant id


def select(sources: Iterable[TenantSource]) -> Selection:
    """Resolve tenant-id conflicts: the oldest TenantConfig wins."""
    winners: dict[str, TenantSource] = {}
    losers: dict[str, str] = {}
    for source in sorted(sources, key=lambda s: (s.created, s.name)):
        if source.tenant_id is None or source.entry is None:
            continue
        holder = winners.get(source.tenant_id)
        if holder is None:
            winners[source.tenant_id] = source
        elif holder.uid != source.uid:
            losers[source.name] = holder.name
    return Selection(winners=winners, losers=losers)


@dataclass(frozen=True)
class RegistryUpdate:
    """The registry document to publish, or None when the published one is current."""

    document: str | None
    generation: int


def _published(config_map: Mapping[str, Any] | None) -> tuple[TenantRegistry | None, set[str]]:
    if not config_map:
        return None, set()
    owners = {str(o.get("uid")) for o in config_map.get("metadata", {}).get("ownerReferences", [])}
    text = (config_map.get("data") or {}).get(REGISTRY_KEY)
    try:
        return (TenantRegistry.model_validate_json(text) if text else None), owners
    except ValidationError:
        return None, owners


def plan_registry(config_map: Mapping[str, Any] | None, selection: Selection) -> RegistryUpdate:
    """Compare the published registry (and its owners) with the selection."""
    published, owners = _published(config_map)
    tenants = {tenant_id: s.entry for tenant_id, s in selection.winners.items() if s.entry}
    wanted_owners = {s.uid for s in selection.winners.values()}
    generation = published.generation if published else 0
    if published is not None and published.tenants == tenants and owners == wanted_owners:
        return RegistryUpdate(document=None, generation=generation)
    registry = TenantRegistry(generation=generation + 1, tenants=tenants)
    document = json.dumps(
        registry.model_dump(mode="json", by_alias=True, exclude_none=True),
        indent=2,
        sort_keys=True,
    )
    return RegistryUpdate(document=document + "\n", generation=generation + 1)
