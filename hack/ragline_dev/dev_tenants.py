"""Demo tenants for local use: a registry and signing keys on disk, the demo menu, dev tokens.

``make up`` (and ``ragline token``) keep them under ``<stack dir>/tenants``: ``tenants.json`` in
the tenant registry format and ``keys/<tenantId>/<kid>`` holding each tenant's HS256 secret, the
same layout the operator mounts into pods. Writing is idempotent: existing secrets are kept, so
tokens minted earlier stay valid across restarts.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from ragline_common.auth import TokenSpec, mint_token
from ragline_common.registry import (
    REGISTRY_KEY,
    SigningKey,
    TenantAuth,
    TenantEntry,
    TenantLimits,
    TenantRegistry,
)
from ragline_llm import demo

DEV_KID = "dev-1"
DEMO_TENANT = "demo"
# A working day: long enough to play, short enough that a leaked dev token soon stops working.
DEV_TOKEN_TTL_SECONDS = 12 * 3600


@dataclass(frozen=True)
class DevTenant:
    """A demo tenant."""

    tenant_id: str
    display_name: str


DEV_TENANTS = (
    DevTenant(DEMO_TENANT, "Trattoria Demo"),
    DevTenant("acme", "Acme Pizza"),
)

# The demo restaurant's menu (prices in euro cents): the same six items, with the same SKUs, that
# the chat service's demo knowledge describes, so its `confirm` tool orders what the API sells.
DEMO_MENU: tuple[dict[str, Any], ...] = tuple(
    {
        "sku": item["metadata"]["sku"],
        "name": item["title"],
        "description": item["body"],
        "price_cents": item["metadata"]["price_cents"],
        "category": item["metadata"]["category"],
    }
    for item in demo.MENU
)


def dev_issuer(tenant_id: str) -> str:
    """Return the ``iss`` of a demo tenant's tokens."""
    return f"https://ragline.localhost/{tenant_id}"


def registry_path(directory: Path) -> Path:
    """Return where the registry file lives in ``directory``."""
    return directory / REGISTRY_KEY


def keys_dir(directory: Path) -> Path:
    """Return the keys folder in ``directory``."""
    return directory / "keys"


DEV_LIMITS = TenantLimits(requests_per_second=200, burst=400)


def write_dev_tenants(directory: Path, *, limits: TenantLimits = DEV_LIMITS) -> TenantRegistry:
    """Write the demo registry and any missing signing keys into ``directory``; return it.

    ``limits`` apply to every demo tenant (benchmarks raise them out of the way).
    """
    directory.mkdir(parents=True, exist_ok=True)
    entries = {}
    for tenant in DEV_TENANTS:
        key_file = keys_dir(directory) / tenant.tenant_id / DEV_KID
        if not key_file.exists():
            key_file.parent.mkdir(parents=True, exist_ok=True)
            key_file.write_text(secrets.token_urlsafe(48) + "\n")
            key_file.chmod(0o600)
        entries[tenant.tenant_id] = TenantEntry(
            tenant_id=tenant.tenant_id,
            display_name=tenant.display_name,
            auth=TenantAuth(
                issuer=dev_issuer(tenant.tenant_id), signing_keys=[SigningKey(kid=DEV_KID)]
            ),
            limits=limits,
        )
    registry = TenantRegistry(generation=1, tenants=entries)
    target = registry_path(directory)
    staging = target.with_suffix(".tmp")
    staging.write_text(registry.model_dump_json(by_alias=True, indent=2) + "\n")
    staging.replace(target)  # atomically, as a ConfigMap update lands
    return registry


def mint_dev_token(
    directory: Path,
    *,
    tenant_id: str,
    user_id: str,
    roles: list[str],
    ttl_seconds: int = DEV_TOKEN_TTL_SECONDS,
) -> str:
    """Mint a token for a tenant of the registry in ``directory`` (written first if missing)."""
    if not registry_path(directory).exists():
        write_dev_tenants(directory)
    registry = TenantRegistry.model_validate_json(registry_path(directory).read_text())
    entry = registry.tenant(tenant_id)
    if entry is None:
        known = ", ".join(sorted(registry.tenants))
        raise ValueError(f"unknown tenant {tenant_id!r}; the registry has: {known}")
    if not entry.auth.signing_keys:
        raise ValueError(f"tenant {tenant_id!r} has no signing key (external issuer?)")
    kid = entry.auth.signing_keys[-1].kid
    secret = (keys_dir(directory) / tenant_id / kid).read_text().strip()
    spec = TokenSpec(
        tenant_id=tenant_id,
        user_id=user_id,
        roles=roles,
        issuer=entry.auth.issuer,
        audience=entry.auth.audience,
        ttl_seconds=ttl_seconds,
    )
    return mint_token(spec, secret=secret, kid=kid)


def seed_menu(base_url: str, token: str, *, timeout: float = 10.0) -> int:
    """Create the demo menu through the API (a staff token); return how many were new.

    Products that exist already (409 on their SKU) are left as they are, so seeding twice is safe.
    """
    created = 0
    headers = {"Authorization": f"Bearer {token}"}
    with httpx.Client(base_url=base_url, headers=headers, timeout=timeout) as client:
        for item in DEMO_MENU:
            response = client.post("/v1/products", json=item)
            if response.status_code == httpx.codes.CONFLICT:
                continue
            response.raise_for_status()
            created += 1
    return created


def api_environment(*, database_url: str, redis_url: str, directory: Path) -> dict[str, str]:
    """Return the environment ``python -m ragline_api serve`` needs to run against the stack."""
    return {
        "RAGLINE_API_DATABASE_URL": database_url,
        "RAGLINE_API_REDIS_URL": redis_url,
        "RAGLINE_API_REGISTRY_PATH": str(registry_path(directory)),
        "RAGLINE_API_KEYS_DIR": str(keys_dir(directory)),
        "RAGLINE_API_LOG_JSON": "false",
    }


def curl_example(base_url: str, token: str) -> str:
    """Return a curl command listing the demo menu."""
    return f"curl -s -H 'Authorization: Bearer {token}' {base_url}/v1/products"
