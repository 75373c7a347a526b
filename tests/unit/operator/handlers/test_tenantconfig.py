"""TenantConfig handlers against KMock: key Secret, registry, rotation, conflicts, errors."""

from __future__ import annotations

import base64
import json
from typing import Any

import kmock
import kopf
import pytest

from ragline_operator.controllers.tenantconfig import reconcile_tenantconfig
from ragline_operator.handlers.common import handle
from ragline_operator.handlers.tenantconfig import (
    tenantconfig_create,
    tenantconfig_event,
    tenantconfig_update,
)
from tests.unit.operator.handlers.util import (
    call,
    conditions,
    events,
    index_of,
    invoke,
    stored,
    with_status,
)
from tests.unit.operator.samples import NAMESPACE, body, tenant_spec

SECRETS = "v1/secrets"
CONFIGMAPS = "v1/configmaps"


def registry(api: kmock.KubernetesEmulator) -> dict[str, Any]:
    config_map = stored(api, CONFIGMAPS, "ragline-tenants")
    assert config_map is not None
    document: dict[str, Any] = json.loads(config_map["data"]["tenants.json"])
    return document


async def test_create_generates_a_key_and_publishes_the_tenant(
    api: kmock.KubernetesEmulator, memo: kopf.Memo
) -> None:
    tenant = body("TenantConfig", "acme", tenant_spec())
    patch = await call(tenantconfig_create, tenant, memo, tenants=[tenant])

    status = patch["status"]
    kid = status["keyId"]
    secret = stored(api, SECRETS, "acme-signing-key")
    assert secret is not None
    assert len(base64.b64decode(secret["data"][kid])) >= 32
    assert secret["metadata"]["ownerReferences"][0]["uid"] == "uid-tenantconfig-acme"
    assert status["signingKeySecret"] == "acme-signing-key"
    assert status["issuer"] == "urn:ragline:shop:acme"
    assert status["observedGeneration"] == 1
    assert conditions(status) == {
        "Ready": ("True", "Ready"),
        "Progressing": ("False", "Reconciled"),
        "Degraded": ("False", "AsExpected"),
        "KeyReady": ("True", "KeyAvailable"),
        "RegistryPublished": ("True", "Published"),
    }
    published = registry(api)
    assert published["generation"] == 1
    assert published["tenants"]["acme"]["auth"]["signingKeys"] == [{"kid": kid}]
    assert "material" not in json.dumps(published)
    assert secret["data"][kid] not in json.dumps(published)


async def test_reconciling_again_keeps_the_key_and_writes_nothing_new(
    api: kmock.KubernetesEmulator, memo: kopf.Memo
) -> None:
    tenant = body("TenantConfig", "acme", tenant_spec())
    first = await call(tenantconfig_create, tenant, memo, tenants=[tenant])
    secret_before = stored(api, SECRETS, "acme-signing-key")
    reconciled = with_status(tenant, first)
    writes = len(api["patch"])

    second = await call(tenantconfig_update, reconciled, memo, tenants=[reconciled])

    assert stored(api, SECRETS, "acme-signing-key") == secret_before
    assert registry(api)["generation"] == 1
    assert len(api["patch"]) == writes  # neither the Secret nor the registry was applied again
    assert second.get("status", {}) == {}  # status unchanged, nothing to patch


async def test_rotation_on_request_keeps_the_previous_key_for_the_overlap(
    api: kmock.KubernetesEmulator, memo: kopf.Memo
) -> None:
    tenant = body("TenantConfig", "acme", tenant_spec())
    first = await call(tenantconfig_create, tenant, memo, tenants=[tenant])
    old_kid = first["status"]["keyId"]
    asked = with_status(tenant, first)
    asked["metadata"]["annotations"] = {"ragline.dev/rotate-key": "2026-11-22"}

    rotated = await call(tenantconfig_update, asked, memo, tenants=[asked])

    status = rotated["status"]
    assert status["keyId"] != old_kid
    assert [k["kid"] for k in status["signingKeys"]] == [status["keyId"], old_kid]
    assert "notAfter" in status["signingKeys"][1]
    secret = stored(api, SECRETS, "acme-signing-key")
    assert secret is not None
    assert set(secret["data"]) == {old_kid, status["keyId"]}
    kids = [k["kid"] for k in registry(api)["tenants"]["acme"]["auth"]["signingKeys"]]
    assert kids == [status["keyId"], old_kid]
    assert any(e["reason"] == "KeyRotated" for e in events(api))


async def test_a_duplicate_tenant_id_is_refused_in_status_and_the_older_one_kept(
    api: kmock.KubernetesEmulator, memo: kopf.Memo
) -> None:
    first = body("TenantConfig", "acme", tenant_spec(), created="2026-01-01T00:00:00Z")
    copy = body("TenantConfig", "acme-copy", tenant_spec(), created="2026-02-01T00:00:00Z")
    await call(tenantconfig_create, first, memo, tenants=[first])

    patch = await call(tenantconfig_create, copy, memo, tenants=[first, copy])

    state = conditions(patch["status"])
    assert state["Ready"] == ("False", "DuplicateTenantId")
    assert state["Degraded"] == ("True", "DuplicateTenantId")
    message = patch["status"]["conditions"][0]["message"]
    assert "spec.tenantId 'acme' is already used by TenantConfig 'acme'" in message
    owners = stored(api, CONFIGMAPS, "ragline-tenants")["metadata"]["ownerReferences"]  # type: ignore[index]
    assert [o["name"] for o in owners] == ["acme"]


async def test_an_invalid_spec_is_a_permanent_error_naming_the_field(
    api: kmock.KubernetesEmulator, memo: kopf.Memo
) -> None:
    tenant = body("TenantConfig", "acme", {"tenantId": "acme", "limits": {"burst": 0}})
    with pytest.raises(kopf.PermanentError, match=r"spec\.limits\.burst"):
        await call(tenantconfig_create, tenant, memo, tenants=[tenant])
    assert stored(api, SECRETS, "acme-signing-key") is None


async def test_invalid_spec_status_is_written_before_the_error(memo: kopf.Memo) -> None:
    tenant = body("TenantConfig", "acme", {"tenantId": "acme", "unknown": 1})
    patch = kopf.Patch()
    with pytest.raises(kopf.PermanentError):
        await handle(
            reconcile_tenantconfig, body=tenant, memo=memo, patch=patch, tenants=[], retry=0
        )
    assert conditions(patch["status"])["Ready"] == ("False", "InvalidSpec")
    assert "spec.unknown" in patch["status"]["conditions"][0]["message"]


async def test_a_paused_tenant_is_left_alone(
    api: kmock.KubernetesEmulator, memo: kopf.Memo
) -> None:
    tenant = body("TenantConfig", "acme", tenant_spec(), annotations={"ragline.dev/paused": "true"})
    patch = await call(tenantconfig_create, tenant, memo, tenants=[tenant])

    assert stored(api, SECRETS, "acme-signing-key") is None
    assert conditions(patch["status"])["Progressing"] == ("False", "Paused")


async def test_a_deleted_tenant_leaves_the_registry(
    api: kmock.KubernetesEmulator, memo: kopf.Memo
) -> None:
    acme = body("TenantConfig", "acme", tenant_spec())
    zeta = body("TenantConfig", "zeta", tenant_spec("zeta"))
    acme = with_status(acme, await call(tenantconfig_create, acme, memo, tenants=[acme]))
    zeta = with_status(zeta, await call(tenantconfig_create, zeta, memo, tenants=[acme, zeta]))
    assert set(registry(api)["tenants"]) == {"acme", "zeta"}

    await invoke(
        tenantconfig_event,
        namespace=NAMESPACE,
        memo=memo,
        logger=__import__("logging").getLogger("test"),
        tenantconfig_index=index_of(acme),
    )

    assert set(registry(api)["tenants"]) == {"acme"}
    assert registry(api)["generation"] == 3
