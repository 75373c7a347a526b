"""One reconcile pass of a TenantConfig: its signing keys, then its namespace's registry."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Any

from ragline_operator.controllers.base import (
    Note,
    Outcome,
    PassInput,
    Subject,
    conclude,
    parse_spec,
)
from ragline_operator.k8s.client import KubeClient
from ragline_operator.models import TENANTCONFIG, TenantConfigSpec
from ragline_operator.reconcile.conditions import Observation, false, true
from ragline_operator.reconcile.keys import ROTATE_ANNOTATION, RotationPolicy, plan_keys
from ragline_operator.reconcile.registry import (
    RegistryUpdate,
    TenantSource,
    default_issuer,
    plan_registry,
    select,
    tenant_entry,
    uses_generated_keys,
)
from ragline_operator.resources.common import REGISTRY_CONFIGMAP, OwnerRef
from ragline_operator.resources.tenant import (
    KeyRecord,
    build_registry_configmap,
    build_signing_key_secret,
    read_signing_keys,
    signing_key_secret_name,
)

KEY_READY = "KeyReady"
REGISTRY_PUBLISHED = "RegistryPublished"
REQUIRED = (KEY_READY, REGISTRY_PUBLISHED)


async def _ensure_keys(
    subject: Subject, spec: TenantConfigSpec, io: PassInput
) -> tuple[tuple[KeyRecord, ...], Observation, list[Note]]:
    owner = subject.owner(TENANTCONFIG)
    secret_name = signing_key_secret_name(owner)
    secret = await io.client.get("v1", "Secret", subject.namespace, secret_name)
    current = read_signing_keys(secret)
    plan = plan_keys(
        current,
        policy=RotationPolicy.from_spec(spec.auth),
        now=io.now,
        rotate_token=subject.annotations.get(ROTATE_ANNOTATION),
    )
    if secret is None or plan.keys != current:
        manifest = build_signing_key_secret(
            owner=owner, namespace=subject.namespace, tenant_id=spec.tenant_id, keys=plan.keys
        )
        await io.client.apply(manifest)
    notes = []
    if plan.generated is not None and current.records:
        notes.append(Note("KeyRotated", f"new signing key {plan.generated}; previous keys overlap"))
    elif plan.generated is not None:
        notes.append(Note("KeyGenerated", f"signing key {plan.generated} in {secret_name}"))
    message = f"signing key {plan.current.kid} in Secret {secret_name}"
    return plan.keys.records, true(KEY_READY, "KeyAvailable", message), notes


async def publish_registry(
    client: KubeClient, namespace: str, sources: Sequence[TenantSource], *, lock: asyncio.Lock
) -> tuple[RegistryUpdate, dict[str, str]]:
    """Publish the namespace's registry if it changed; returns the update and the losers.

    With no valid TenantConfig left nothing is written: the ConfigMap's owners are gone and
    garbage collection removes it.
    """
    selection = select(sources)
    if not selection.winners:
        return RegistryUpdate(document=None, generation=0), dict(selection.losers)
    async with lock:
        current = await client.get("v1", "ConfigMap", namespace, REGISTRY_CONFIGMAP)
        update = plan_registry(current, selection)
        if update.document is not None:
            owners = [
                OwnerRef(kind=TENANTCONFIG.kind, name=s.name, uid=s.uid)
                for s in selection.winners.values()
            ]
            manifest = build_registry_configmap(
                namespace=namespace, owners=owners, document=update.document
            )
            version = (current or {}).get("metadata", {}).get("resourceVersion")
            if version:
                # Optimistic concurrency: a concurrent writer makes this fail with 409, not lose.
                manifest["metadata"]["resourceVersion"] = version
            await client.apply(manifest)
    return update, dict(selection.losers)


async def reconcile_tenantconfig(subject: Subject, io: PassInput) -> Outcome:
    """Keys, registry entry, conditions."""
    spec = parse_spec(TenantConfigSpec, subject.spec)
    extra: dict[str, Any]
    if uses_generated_keys(spec):
        records, key_observation, notes = await _ensure_keys(subject, spec, io)
        extra = {
            "signingKeySecret": signing_key_secret_name(subject.owner(TENANTCONFIG)),
            "keyId": records[0].kid,
            "issuer": default_issuer(subject.namespace, spec.tenant_id),
            "signingKeys": [r.to_json() for r in records],
        }
        secret_name: str | None = extra["signingKeySecret"]
    else:
        records, notes = (), []
        issuer = spec.auth.issuer if spec.auth else None
        key_observation = true(KEY_READY, "ExternalIssuer", f"tokens are issued by {issuer}")
        extra = {"signingKeySecret": None, "keyId": None, "issuer": issuer, "signingKeys": []}
        secret_name = None
    own = TenantSource(
        name=subject.name,
        uid=subject.uid,
        created=str(subject.meta.get("creationTimestamp", "")),
        tenant_id=spec.tenant_id,
        entry=tenant_entry(spec, namespace=subject.namespace, keys=records),
        secret_name=secret_name,
    )
    sources = [s for s in io.tenants if s.uid != subject.uid] + [own]
    lock = io.state.registry_lock(subject.namespace)
    _, losers = await publish_registry(io.client, subject.namespace, sources, lock=lock)
    if subject.name in losers:
        registry = false(
            REGISTRY_PUBLISHED,
            "DuplicateTenantId",
            f"spec.tenantId {spec.tenant_id!r} is already used by TenantConfig "
            f"{losers[subject.name]!r} in this namespace",
            failure=True,
        )
    else:
        registry = true(
            REGISTRY_PUBLISHED,
            "Published",
            f"listed in the tenant registry ConfigMap {REGISTRY_CONFIGMAP}",
        )
    extra["registryConfigMap"] = REGISTRY_CONFIGMAP
    return conclude(
        subject,
        [key_observation, registry],
        required=REQUIRED,
        now=io.now,
        extra=extra,
        notes=notes,
    )
