"""The plain-ASGI product read answers exactly as the route does, and hands everything else on."""

from __future__ import annotations

import uuid

import pytest

from ragline_common.registry import TenantLimits
from tests.integration.api.conftest import Api, Tenants, create_products

pytestmark = pytest.mark.integration

ROUTE = "/v1/products/{product_id}"


def requests_counted(api: Api, status: int) -> float:
    labels = {"method": "GET", "route": ROUTE, "status": str(status)}
    return api.metric("ragline_api_http_requests_total", labels)


async def test_the_fast_read_and_the_route_give_the_same_answer(api: Api, tenants: Tenants) -> None:
    product = (await create_products(api, tenants, "acme"))[0]
    headers = tenants.headers("acme", roles=["customer"])
    url = f"/v1/products/{product['id']}"

    fast = await api.client.get(url, headers=headers)
    # A query string (or any spelling of the id but the canonical one) goes to the route.
    routed = await api.client.get(url, params={"via": "route"}, headers=headers)
    upper = await api.client.get(url.upper().replace("/V1/PRODUCTS/", "/v1/products/"))

    assert fast.status_code == routed.status_code == 200
    assert fast.content == routed.content
    assert fast.json() == product
    assert fast.headers["content-type"] == routed.headers["content-type"] == "application/json"
    assert fast.headers["content-length"] == routed.headers["content-length"]
    assert set(fast.headers) == set(routed.headers)
    assert fast.headers["x-request-id"] != routed.headers["x-request-id"]
    assert upper.status_code == 401  # no token: the route's problem, not a fast answer
    assert requests_counted(api, 200) == 2
    assert requests_counted(api, 401) == 1


async def test_failures_are_the_routes_problems(api: Api, tenants: Tenants) -> None:
    await create_products(api, tenants, "acme")
    missing = f"/v1/products/{uuid.uuid4()}"
    not_found = await api.client.get(missing, headers=tenants.headers("acme"))
    assert not_found.status_code == 404
    assert not_found.headers["content-type"] == "application/problem+json"
    unauthorized = await api.client.get(missing, headers={"Authorization": "Bearer nope"})
    assert unauthorized.status_code == 401
    assert unauthorized.headers["www-authenticate"].startswith("Bearer")
    no_role = await api.client.get(missing, headers=tenants.headers("acme", roles=["auditor"]))
    assert no_role.status_code == 403
    suspended = await api.client.get(missing, headers=tenants.headers("initech"))
    assert suspended.status_code == 403
    assert requests_counted(api, 404) == 1
    assert requests_counted(api, 401) == 1
    assert requests_counted(api, 403) == 2


async def test_each_read_spends_one_token_and_a_refusal_is_counted_once(
    api: Api, tenants: Tenants
) -> None:
    tenants.add("tiny", limits=TenantLimits(requests_per_second=0.5, burst=4))
    headers = tenants.headers("tiny")
    product = (
        await create_products(
            api, tenants, "tiny", [{"sku": "tea", "name": "Tea", "price_cents": 300}]
        )
    )[0]
    url = f"/v1/products/{product['id']}"
    # The create spent one token of the burst of four; three reads are left.
    statuses = [(await api.client.get(url, headers=headers)).status_code for _ in range(4)]

    assert statuses == [200, 200, 200, 429]
    assert api.metric("ragline_api_rate_limited_requests_total") == 1
