"""Per-tenant rate limits, body size limits, and the operational endpoints."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from ragline_common.registry import TenantLimits
from tests.integration.api.conftest import Api, Tenants

pytestmark = pytest.mark.integration


async def test_a_tenant_over_its_rate_gets_429_with_retry_after(api: Api, tenants: Tenants) -> None:
    tenants.add("tiny", limits=TenantLimits(requests_per_second=0.5, burst=3))
    headers = tenants.headers("tiny")
    statuses = [
        (await api.client.get("/v1/products", headers=headers)).status_code for _ in range(3)
    ]
    assert statuses == [200, 200, 200]
    limited = await api.client.get("/v1/products", headers=headers)
    assert limited.status_code == 429
    assert limited.headers["content-type"] == "application/problem+json"
    assert 1 <= int(limited.headers["retry-after"]) <= 2
    assert api.metric("ragline_api_rate_limited_requests_total") == 1
    # Other tenants keep their own budget.
    assert (
        await api.client.get("/v1/products", headers=tenants.headers("acme"))
    ).status_code == 200


async def test_bad_tokens_do_not_spend_the_tenants_budget(api: Api, tenants: Tenants) -> None:
    tenants.add("tiny", limits=TenantLimits(requests_per_second=0.5, burst=2))
    bad = tenants.headers("tiny", secret="z" * 48)
    for _ in range(5):
        assert (await api.client.get("/v1/products", headers=bad)).status_code == 401
    good = tenants.headers("tiny")
    assert (await api.client.get("/v1/products", headers=good)).status_code == 200


async def test_oversized_bodies_are_413_problems(api: Api, tenants: Tenants) -> None:
    limit = api.state.settings.max_body_bytes
    body = (
        b'{"sku": "big", "name": "Big", "price_cents": 1, "description": "' + b"x" * limit + b'"}'
    )
    headers = {**tenants.headers("acme"), "Content-Type": "application/json"}
    declared = await api.client.post("/v1/products", content=body, headers=headers)
    assert declared.status_code == 413
    assert declared.headers["content-type"] == "application/problem+json"
    assert str(limit) in declared.json()["detail"]

    async def chunks() -> AsyncIterator[bytes]:
        for start in range(0, len(body), 4096):
            yield body[start : start + 4096]

    streamed = await api.client.post("/v1/products", content=chunks(), headers=headers)
    assert streamed.status_code == 413
    assert streamed.headers["content-type"] == "application/problem+json"


async def test_health_readiness_and_metrics(api: Api, tenants: Tenants) -> None:
    assert (await api.client.get("/healthz")).json() == {"status": "ok"}
    ready = await api.client.get("/readyz")
    assert ready.status_code == 200
    assert ready.json()["checks"] == {"database": "ok", "redis": "ok", "registry": "ok"}
    await api.client.get("/v1/products", headers=tenants.headers("acme"))
    metrics = (await api.client.get("/metrics")).text
    assert "ragline_api_http_request_duration_seconds_bucket" in metrics
    assert 'route="/v1/products"' in metrics
    assert (
        'ragline_api_http_requests_total{method="GET",route="/v1/products",status="200"} 1.0'
        in metrics
    )


async def test_readiness_fails_when_the_registry_is_missing(api: Api, tenants: Tenants) -> None:
    api.state.registry.path = tenants.directory / "nowhere.json"
    api.state.registry.loaded = False
    ready = await api.client.get("/readyz")
    assert ready.status_code == 503
    assert ready.json()["checks"]["registry"] == "failing"


async def test_correlation_ids_are_echoed_or_made_up(api: Api) -> None:
    echoed = await api.client.get("/healthz", headers={"X-Request-ID": "abc-123"})
    assert echoed.headers["x-request-id"] == "abc-123"
    made_up = await api.client.get("/healthz", headers={"X-Request-ID": "bad id\twith spaces"})
    assert made_up.headers["x-request-id"] != "bad id\twith spaces"
    assert len(made_up.headers["x-request-id"]) == 32
    unknown = await api.client.get("/nowhere", headers={"X-Request-ID": "trace-me"})
    assert unknown.status_code == 404
    assert unknown.json()["correlation_id"] == "trace-me"
    wrong_method = await api.client.put("/v1/products")
    assert wrong_method.status_code == 405
    assert wrong_method.headers["content-type"] == "application/problem+json"
