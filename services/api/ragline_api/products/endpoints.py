"""``/v1/products``: any role reads the menu; staff and admins change it."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Query, Request, status
from fastapi.routing import APIRoute
from starlette.responses import Response

from ragline_api.deps import AnyRole, SessionDep, Staff, StateDep, api_state, open_session
from ragline_api.pagination import DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE
from ragline_api.products import service
from ragline_api.products.repository import ProductFilter
from ragline_api.products.schemas import (
    MAX_PRICE_CENTS,
    ProductCreate,
    ProductPage,
    ProductPublic,
    ProductUpdate,
)
from ragline_api.text import NO_NUL_PATTERN
from ragline_common.errors import problem_responses

router = APIRouter(
    prefix="/v1/products",
    tags=["products"],
    responses=problem_responses(401, 403, 413, 422, 429),
)


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    response_model=ProductPublic,
    responses=problem_responses(409),
    summary="Create a product",
)
async def create_product(
    body: ProductCreate, _: Staff, session: SessionDep, state: StateDep
) -> ProductPublic:
    return await service.create_product(session, state.product_cache, body)


@router.get("", response_model=ProductPage, summary="List products")
async def list_products(
    _: AnyRole,
    session: SessionDep,
    category: Annotated[str | None, Query(max_length=64, pattern=NO_NUL_PATTERN)] = None,
    available: bool | None = None,
    q: Annotated[
        str | None, Query(max_length=100, pattern=NO_NUL_PATTERN, description="name contains")
    ] = None,
    min_price_cents: Annotated[int | None, Query(ge=0, le=MAX_PRICE_CENTS)] = None,
    max_price_cents: Annotated[int | None, Query(ge=0, le=MAX_PRICE_CENTS)] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE_SIZE)] = DEFAULT_PAGE_SIZE,
    cursor: Annotated[str | None, Query(max_length=200)] = None,
) -> ProductPage:
    filters = ProductFilter(
        category=category,
        available=available,
        name_contains=q,
        min_price_cents=min_price_cents,
        max_price_cents=max_price_cents,
    )
    return await service.list_products(session, filters=filters, limit=limit, cursor=cursor)


@router.get(
    "/{product_id}",
    response_model=ProductPublic,
    responses=problem_responses(404),
    summary="Get a product (cached)",
)
async def get_product(product_id: uuid.UUID, principal: AnyRole, request: Request) -> Response:
    # The hot path: one dependency (the principal), no session (a hit never needs the database),
    # and the cached JSON goes out as it is, without a model round trip.
    state = api_state(request)
    content = await service.product_json(
        lambda: open_session(state, principal),
        state.product_cache,
        tenant_id=principal.tenant_id,
        product_id=product_id,
    )
    return Response(content=content, media_type="application/json")


def read_route() -> APIRoute:
    """Return the route of ``GET /v1/products/{product_id}`` (the fast read stands in for it)."""
    for route in router.routes:
        if isinstance(route, APIRoute) and route.endpoint is get_product:
            return route
    raise LookupError("the product read route is missing")


@router.patch(
    "/{product_id}",
    response_model=ProductPublic,
    responses=problem_responses(404, 409),
    summary="Update a product",
)
async def update_product(
    product_id: uuid.UUID, body: ProductUpdate, _: Staff, session: SessionDep, state: StateDep
) -> ProductPublic:
    return await service.update_product(session, state.product_cache, product_id, body)


@router.delete(
    "/{product_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    response_class=Response,
    responses=problem_responses(404),
    summary="Delete a product",
)
async def delete_product(
    product_id: uuid.UUID, _: Staff, session: SessionDep, state: StateDep
) -> None:
    await service.delete_product(session, state.product_cache, product_id)
