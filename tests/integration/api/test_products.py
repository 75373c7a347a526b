"""Products: CRUD, listing with filters and pagination, problems that name the field."""

from __future__ import annotations

import pytest

from tests.integration.api.conftest import Api, Tenants, create_products

pytestmark = pytest.mark.integration


async def test_crud_round_trip(api: Api, tenants: Tenants) -> None:
    staff = tenants.headers("acme")
    created = await api.client.post(
        "/v1/products",
        json={"sku": "calzone", "name": "Calzone", "price_cents": 1200, "category": "pizza"},
        headers=staff,
    )
    assert created.status_code == 201, created.text
    product = created.json()
    assert product["currency"] == "EUR"
    assert product["version"] == 1
    assert product["available"]
    url = f"/v1/products/{product['id']}"

    got = await api.client.get(url, headers=tenants.headers("acme", roles=["customer"]))
    assert got.status_code == 200
    assert got.json() == product

    patched = await api.client.patch(
        url, json={"price_cents": 1300, "category": None}, headers=staff
    )
    assert patched.status_code == 200, patched.text
    assert patched.json()["price_cents"] == 1300
    assert patched.json()["category"] is None
    assert patched.json()["version"] == 2
    assert (await api.client.get(url, headers=staff)).json() == patched.json()

    deleted = await api.client.delete(url, headers=staff)
    assert deleted.status_code == 204
    assert deleted.content == b""
    missing = await api.client.get(url, headers=staff)
    assert missing.status_code == 404
    assert missing.headers["content-type"] == "application/problem+json"
    assert (await api.client.delete(url, headers=staff)).status_code == 404


async def test_duplicate_sku_is_a_conflict_naming_the_field(api: Api, tenants: Tenants) -> None:
    first, second, _ = await create_products(api, tenants, "acme")
    again = await api.client.post(
        "/v1/products",
        json={"sku": first["sku"], "name": "Copy", "price_cents": 1},
        headers=tenants.headers("acme"),
    )
    assert again.status_code == 409
    assert again.json()["errors"][0]["field"] == "sku"
    renamed = await api.client.patch(
        f"/v1/products/{second['id']}", json={"sku": first["sku"]}, headers=tenants.headers("acme")
    )
    assert renamed.status_code == 409
    assert renamed.json()["errors"][0]["field"] == "sku"
    # The same SKU in another tenant is no conflict: SKUs are per tenant.
    other = await api.client.post(
        "/v1/products",
        json={"sku": first["sku"], "name": "Theirs", "price_cents": 1},
        headers=tenants.headers("globex"),
    )
    assert other.status_code == 201


async def test_validation_problem_names_each_offending_field(api: Api, tenants: Tenants) -> None:
    response = await api.client.post(
        "/v1/products",
        json={"sku": "bad sku!", "name": "", "price_cents": -1, "colour": "red"},
        headers=tenants.headers("acme"),
    )
    assert response.status_code == 422
    assert response.headers["content-type"] == "application/problem+json"
    problem = response.json()
    assert problem["status"] == 422
    assert problem["type"].endswith("/validation")
    fields = {(e["location"], e["field"]) for e in problem["errors"]}
    assert fields == {
        ("body", "sku"),
        ("body", "name"),
        ("body", "price_cents"),
        ("body", "colour"),
    }
    assert "bad sku!" not in response.text  # the rejected input is not echoed


async def test_patch_refuses_null_for_required_fields_and_empty_patches(
    api: Api, tenants: Tenants
) -> None:
    [product, *_] = await create_products(api, tenants, "acme")
    url = f"/v1/products/{product['id']}"
    nulled = await api.client.patch(url, json={"name": None}, headers=tenants.headers("acme"))
    assert nulled.status_code == 422
    assert nulled.json()["errors"][0]["field"] == "name"
    empty = await api.client.patch(url, json={}, headers=tenants.headers("acme"))
    assert empty.status_code == 422


async def test_listing_filters_and_paginates_without_gaps(api: Api, tenants: Tenants) -> None:
    created = await create_products(api, tenants, "acme")
    headers = tenants.headers("acme", roles=["customer"])

    pizzas = await api.client.get("/v1/products", params={"category": "pizza"}, headers=headers)
    assert {p["sku"] for p in pizzas.json()["items"]} == {"margherita", "diavola"}
    cheap = await api.client.get("/v1/products", params={"max_price_cents": 950}, headers=headers)
    assert {p["sku"] for p in cheap.json()["items"]} == {"margherita", "tiramisu"}
    named = await api.client.get("/v1/products", params={"q": "DIAV"}, headers=headers)
    assert [p["sku"] for p in named.json()["items"]] == ["diavola"]
    wildcard = await api.client.get("/v1/products", params={"q": "%"}, headers=headers)
    assert wildcard.json()["items"] == []  # LIKE wildcards are matched literally

    seen: list[str] = []
    cursor = None
    for _ in range(5):
        params: dict[str, str | int] = {"limit": 2}
        if cursor:
            params["cursor"] = cursor
        page = (await api.client.get("/v1/products", params=params, headers=headers)).json()
        seen += [p["id"] for p in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == [p["id"] for p in created]

    bad = await api.client.get("/v1/products", params={"cursor": "nonsense"}, headers=headers)
    assert bad.status_code == 422
    assert bad.json()["errors"][0] == {
        "field": "cursor",
        "message": "not a cursor",
        "location": "query",
        "type": "invalid",
    }
