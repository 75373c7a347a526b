"""The plain-ASGI order post answers exactly as the route does, and hands everything else on."""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator
from typing import Any

import pytest

from ragline_common.registry import TenantLimits
from tests.integration.api.conftest import MENU, Api, Tenants, create_products

pytestmark = pytest.mark.integration

# A query string sends a request to the route (FastAPI ignores the parameter).
VIA_ROUTE = {"via": "route"}
# Fields each order has its own of.
OWN_FIELDS = {"id", "created_at", "updated_at"}


def posts_counted(api: Api, status: int) -> float:
    labels = {"method": "POST", "route": "/v1/orders", "status": str(status)}
    return api.metric("ragline_api_http_requests_total", labels)


def without_own_fields(order: dict[str, Any]) -> dict[str, Any]:
    return {name: value for name, value in order.items() if name not in OWN_FIELDS}


async def test_the_plain_post_and_the_route_place_the_same_order(
    api: Api, tenants: Tenants
) -> None:
    product = (await create_products(api, tenants, "acme"))[0]
    headers = {**tenants.headers("acme", roles=["customer"]), "Idempotency-Key": "fast"}
    body = {"lines": [{"product_id": product["id"], "quantity": 2}], "note": "ring twice"}

    fast = await api.client.post("/v1/orders", json=body, headers=headers)
    routed = await api.client.post(
        "/v1/orders", json=body, params=VIA_ROUTE, headers={**headers, "Idempotency-Key": "route"}
    )

    assert fast.status_code == routed.status_code == 201
    assert without_own_fields(fast.json()) == without_own_fields(routed.json())
    assert fast.json()["total_cents"] == 2 * product["price_cents"]
    assert fast.headers["content-type"] == routed.headers["content-type"] == "application/json"
    assert set(fast.headers) == set(routed.headers)
    # Either path replays what the other placed, byte for byte.
    replayed_by_route = await api.client.post(
        "/v1/orders", json=body, params=VIA_ROUTE, headers=headers
    )
    replayed_fast = await api.client.post(
        "/v1/orders", json=body, headers={**headers, "Idempotency-Key": "route"}
    )
    assert replayed_by_route.content == fast.content
    assert replayed_fast.content == routed.content
    assert replayed_by_route.headers["idempotent-replayed"] == "true"
    assert replayed_fast.headers["idempotent-replayed"] == "true"
    assert set(replayed_by_route.headers) == set(replayed_fast.headers)
    listed = await api.client.get("/v1/orders", headers=tenants.headers("acme"))
    assert len(listed.json()["items"]) == 2
    assert posts_counted(api, 201) == 4
    assert api.metric("ragline_api_orders_created_total") == 2
    assert api.metric("ragline_api_idempotent_replays_total") == 2


async def test_what_the_plain_post_cannot_place_is_the_routes_to_answer(
    api: Api, tenants: Tenants
) -> None:
    product = (await create_products(api, tenants, "acme"))[0]
    line = {"product_id": product["id"], "quantity": 1}
    staff = tenants.headers("acme")

    def post(body: Any, **headers: str) -> Any:
        content = body if isinstance(body, bytes) else json.dumps(body).encode()
        sent = {"Content-Type": "application/json", "Idempotency-Key": uuid.uuid4().hex, **headers}
        return api.client.post("/v1/orders", content=content, headers=sent)

    invalid = await post({"lines": [{**line, "quantity": 0}]}, **staff)
    assert invalid.status_code == 422
    assert invalid.json()["errors"][0]["field"] == "lines[0].quantity"
    not_json = await post(b"{lines", **staff)
    assert not_json.status_code == 422
    bad_key = await post({"lines": [line]}, **staff, **{"Idempotency-Key": "has space"})
    assert bad_key.status_code == 422
    assert bad_key.json()["errors"][0]["field"] == "Idempotency-Key"
    unauthorized = await post({"lines": [line]}, Authorization="Bearer nope")
    assert unauthorized.status_code == 401
    assert unauthorized.headers["www-authenticate"].startswith("Bearer")
    no_role = await post({"lines": [line]}, **tenants.headers("acme", roles=["auditor"]))
    assert no_role.status_code == 403
    # Another spelling of JSON is the route's to parse: the order is placed all the same.
    charset = await post(
        {"lines": [line]}, **staff, **{"Content-Type": "application/json; charset=utf-8"}
    )
    assert charset.status_code == 201
    # A problem found while placing is rendered by the plain path, as the route's handler would.
    unknown = await post({"lines": [{**line, "product_id": str(uuid.uuid4())}]}, **staff)
    assert unknown.status_code == 422
    assert unknown.headers["content-type"] == "application/problem+json"
    problem = unknown.json()
    assert problem["instance"] == "/v1/orders"
    assert problem["errors"][0] == {
        "field": "lines[0].product_id",
        "message": "no such product",
        "location": "body",
        "type": "unknown",
    }
    assert problem["correlation_id"] == unknown.headers["x-request-id"]
    assert posts_counted(api, 422) == 4
    assert posts_counted(api, 401) == 1
    assert posts_counted(api, 403) == 1
    assert posts_counted(api, 201) == 1
    listed = await api.client.get("/v1/orders", headers=staff)
    assert len(listed.json()["items"]) == 1


async def test_over_its_limit_a_tenant_gets_the_routes_429_charged_once(
    api: Api, tenants: Tenants
) -> None:
    # A burst this small leases one token at a time: every request is counted exactly.
    tenants.add("tiny", limits=TenantLimits(requests_per_second=0.1, burst=3))
    product = (await create_products(api, tenants, "tiny", menu=[MENU[0]]))[0]
    headers = tenants.headers("tiny")
    body = {"lines": [{"product_id": product["id"], "quantity": 1}]}

    def place() -> Any:
        key = {"Idempotency-Key": uuid.uuid4().hex}
        return api.client.post("/v1/orders", json=body, headers={**headers, **key})

    assert [(await place()).status_code for _ in range(2)] == [201, 201]
    limited = await place()
    assert limited.status_code == 429
    assert limited.headers["content-type"] == "application/problem+json"
    assert int(limited.headers["retry-after"]) >= 1
    assert api.metric("ragline_api_rate_limited_requests_total") == 1


async def test_a_chunked_order_goes_to_the_route_and_is_placed(api: Api, tenants: Tenants) -> None:
    product = (await create_products(api, tenants, "acme"))[0]
    content = json.dumps({"lines": [{"product_id": product["id"], "quantity": 3}]}).encode()

    async def chunks() -> AsyncIterator[bytes]:
        for start in range(0, len(content), 16):
            yield content[start : start + 16]

    headers = {**tenants.headers("acme"), "Content-Type": "application/json"}
    placed = await api.client.post(
        "/v1/orders", content=chunks(), headers={**headers, "Idempotency-Key": "chunked"}
    )
    assert placed.status_code == 201, placed.text
    assert placed.json()["total_cents"] == 3 * product["price_cents"]
