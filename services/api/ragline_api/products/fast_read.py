"""The cached product read without the framework: ``GET /v1/products/{id}`` answered in plain ASGI.

The product read is the API's hottest request, and once the product is cached it is one Redis
``GET``; FastAPI's routing, dependency solving, parameter validation and response handling cost
more than that. So :class:`CachedProductReads` (inside the API's own middleware: the request
context, metrics, access log and body limit still wrap it) serves the *plain success* itself, with
the same code the route uses (:func:`~ragline_api.deps.plain_principal`: the route's token
verification and rate limit; :func:`~ragline_api.products.service.product_json`) and the
same response (a :class:`~starlette.responses.Response` of the cached bytes).

Everything else goes on to the route, unchanged: another method or path, a query string, an id
that is not a canonical UUID, a missing or bad token, a role that may not read, a tenant over its
limit, a product that does not exist, a failing database or cache. Nothing is charged twice: a
request that took its rate-limit token here carries its principal on to the route (see
:class:`~ragline_api.deps.TenantBearer`), and one that was refused here took nothing.
"""

from __future__ import annotations

import uuid

from fastapi.routing import APIRoute
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Receive, Scope, Send

from ragline_api.deps import api_state, open_session, plain_principal
from ragline_api.products import service
from ragline_api.roles import Role

PREFIX = "/v1/products/"
# 8-4-4-4-12 hex digits: other spellings pydantic accepts are left to the route.
_UUID_LENGTH = 36
_READERS = frozenset(Role)
_MEDIA_TYPE = "application/json"


def _product_id(scope: Scope) -> uuid.UUID | None:
    """Return the product id of a plain ``GET /v1/products/<uuid>``, else None."""
    if scope["type"] != "http" or scope["method"] != "GET" or scope.get("query_string"):
        return None
    path: str = scope["path"]
    if len(path) != len(PREFIX) + _UUID_LENGTH or not path.startswith(PREFIX):
        return None
    text = path[len(PREFIX) :]
    try:
        product_id = uuid.UUID(text)
    except ValueError:
        return None
    return product_id if str(product_id) == text.lower() else None


class CachedProductReads:
    """Serve successful single-product reads directly; pass every other request on."""

    def __init__(self, app: ASGIApp, *, route: APIRoute) -> None:
        self.app = app
        # Set as the request's route, as the router would: metrics and logs label by its path.
        self.route = route

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        product_id = _product_id(scope)
        if product_id is None or getattr(scope["app"].state, "api", None) is None:
            await self.app(scope, receive, send)
            return
        request = Request(scope, receive)
        content = await self._serve(request, product_id)
        if content is None:
            await self.app(scope, receive, send)
            return
        scope["route"] = self.route
        await Response(content=content, media_type=_MEDIA_TYPE)(scope, receive, send)

    async def _serve(self, request: Request, product_id: uuid.UUID) -> bytes | None:
        """Return the product's JSON if this is a plain success, else None (the route answers)."""
        principal = await plain_principal(request, roles=_READERS)
        if principal is None:
            return None
        state = api_state(request)
        try:
            return await service.product_json(
                lambda: open_session(state, principal),
                state.product_cache,
                tenant_id=principal.tenant_id,
                product_id=product_id,
            )
        except Exception:  # the route tries again and answers as it always does
            return None
