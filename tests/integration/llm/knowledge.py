"""Test knowledge: the demo menu, policies and FAQs, and a helper to ingest them."""

from __future__ import annotations

from typing import Any

from ragline_llm.demo import demo_bundle
from tests.integration.llm.conftest import Llm, Tenants


async def ingest(
    llm: Llm, tenants: Tenants, tenant_id: str, bundle: dict[str, Any]
) -> dict[str, Any]:
    """Ingest ``bundle`` for ``tenant_id`` through the real endpoint, as staff."""
    response = await llm.client.post(
        "/v1/knowledge", json=bundle, headers=tenants.headers(tenant_id, roles=["staff"])
    )
    assert response.status_code == 200, response.text
    result: dict[str, Any] = response.json()
    return result


async def ingest_demo(llm: Llm, tenants: Tenants, tenant_id: str) -> dict[str, Any]:
    bundle = demo_bundle(tenant_id)
    bundle.pop("tenant")
    return await ingest(llm, tenants, tenant_id, bundle)
