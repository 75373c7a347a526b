"""The tenant registry rendered from a namespace's TenantConfigs."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from ragline_common.registry import TenantRegistry, TenantState
from ragline_operator.models import TenantConfigSpec
from ragline_operator.reconcile.registry import (
    TenantSource,
    default_issuer,
    plan_registry,
    select,
    tenant_entry,
    tenant_source,
)
from ragline_operator.resources.tenant import KeyRecord
from tests.unit.operator.samples import NAMESPACE, tenant_spec

T0 = datetime(2026, 11, 22, 10, 0, tzinfo=UTC)


def source(name: str, tenant_id: str, *, created: str, **spec: Any) -> TenantSource:
    return tenant_source(
        name=name,
        uid=f"uid-{name}",
        created=created,
        namespace=NAMESPACE,
        spec=tenant_spec(tenant_id, **spec),
        status={
            "signingKeys": [{"kid": "k1", "createdAt": "2026-11-22T10:00:00Z"}],
            "signingKeySecret": f"{name}-signing-key",
        },
    )


def test_entry_carries_key_ids_never_material_and_the_default_issuer() -> None:
    spec = TenantConfigSpec.model_validate(tenant_spec(state="Suspended", tools=["confirm"]))
    entry = tenant_entry(spec, namespace=NAMESPACE, keys=[KeyRecord("k1", T0, not_after=T0)])

    assert entry.state is TenantState.SUSPENDED
    assert entry.auth.issuer == default_issuer(NAMESPACE, "acme") == "urn:ragline:shop:acme"
    assert [(k.kid, k.not_after) for k in entry.auth.signing_keys] == [("k1", T0)]
    assert [t.value for t in entry.tools] == ["confirm"]
    assert entry.limits.requests_per_second == 50.0


def test_external_issuers_list_their_jwks_and_no_keys() -> None:
    spec = TenantConfigSpec.model_validate(
        tenant_spec(auth={"issuer": "https://id.example", "jwksUrl": "https://id.example/jwks"})
    )
    entry = tenant_entry(spec, namespace=NAMESPACE, keys=[])
    assert entry.auth.issuer == "https://id.example"
    assert entry.auth.jwks_url == "https://id.example/jwks"
    assert entry.auth.signing_keys == []
    assert spec.auth is not None
    external = source("ext", "ext", created="1", auth=spec.auth.model_dump(by_alias=True))
    assert external.secret_name is None


def test_an_invalid_spec_contributes_nothing() -> None:
    broken = tenant_source(
        name="bad", uid="u", created="1", namespace=NAMESPACE, spec={"tenantId": "BAD!"}, status={}
    )
    assert broken.entry is None
    assert select([broken]).winners == {}


def test_the_oldest_tenantconfig_wins_a_duplicate_tenant_id() -> None:
    older = source("first", "acme", created="2026-01-01T00:00:00Z")
    newer = source("second", "acme", created="2026-02-01T00:00:00Z")
    selection = select([newer, older])
    assert selection.winners["acme"].name == "first"
    assert selection.losers == {"second": "first"}


def test_publishing_bumps_generation_only_on_change() -> None:
    acme = source("acme", "acme", created="1")
    first = plan_registry(None, select([acme]))
    assert first.generation == 1
    assert first.document is not None
    registry = TenantRegistry.model_validate_json(first.document)
    assert set(registry.tenants) == {"acme"}

    published = {
        "metadata": {"ownerReferences": [{"uid": "uid-acme"}]},
        "data": {"tenants.json": first.document},
    }
    assert plan_registry(published, select([acme])).document is None

    zeta = source("zeta", "zeta", created="2")
    second = plan_registry(published, select([acme, zeta]))
    assert second.generation == 2
    assert second.document is not None
    assert set(json.loads(second.document)["tenants"]) == {"acme", "zeta"}


def test_a_recreated_tenantconfig_republishes_for_the_new_owner() -> None:
    acme = source("acme", "acme", created="1")
    first = plan_registry(None, select([acme]))
    stale_owner = {
        "metadata": {"ownerReferences": [{"uid": "uid-of-the-deleted-one"}]},
        "data": {"tenants.json": first.document},
    }
    assert plan_registry(stale_owner, select([acme])).document is not None


def test_an_unreadable_published_registry_is_replaced() -> None:
    acme = source("acme", "acme", created="1")
    garbled = {
        "metadata": {"ownerReferences": [{"uid": "uid-acme"}]},
        "data": {"tenants.json": "{"},
    }
    update = plan_registry(garbled, select([acme]))
    assert update.document is not None
    assert update.generation == 1
