"""FastAPI dependencies as ``Annotated`` aliases: state, principal (with rate limit), session.

Authentication runs before the rate limit, so bad tokens never spend a tenant's budget, and the
session dependency is function-scoped: it commits (and invalidates caches) before the response
is sent, never after.

Every dependency FastAPI resolves costs it tens of microseconds per request, which on the cached
product read is a good part of the whole request. So the principal is one dependency, not a chain
(bearer scheme → verification → role check): :class:`TenantBearer` is the bearer security scheme
itself (the OpenAPI document is unchanged) and reads the request's state directly. A request
authenticates and takes its rate-limit token once, however many ``TenantBearer`` dependencies it
has (a role check and the session each have one): the first stores the principal in the ASGI
scope and the others reuse it.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import AbstractAsyncContextManager
from typing import Annotated, cast

from fastapi import Depends, Request
from fastapi.security import HTTPBearer

from ragline_api.roles import Role
from ragline_api.state import ApiState
from ragline_common.auth import Principal, bearer_token
from ragline_common.db import TenantSession, tenant_session
from ragline_common.errors import ForbiddenError, RaglineError, RateLimitedError
from ragline_common.ratelimit import Decision

BEARER_DESCRIPTION = "A tenant JWT (`ragline token` mints one)"
# The scheme's name in the OpenAPI document (HTTPBearer's own default, kept by the subclass).
SCHEME_NAME = "HTTPBearer"
_PRINCIPAL_SCOPE_KEY = "ragline.principal"
_ALLOWED = Decision(allowed=True)


def api_state(request: Request) -> ApiState:
    """Return the state the lifespan built."""
    return cast(ApiState, request.app.state.api)


async def get_state(request: Request) -> ApiState:
    """Return the state the lifespan built (async: a sync dependency would cost a thread hop)."""
    return api_state(request)


StateDep = Annotated[ApiState, Depends(get_state)]


async def verify_bearer(request: Request) -> Principal:
    """Return the principal of the request's bearer token (401/403 problems otherwise)."""
    state = api_state(request)
    return await state.verifier.verify(bearer_token(request.headers.get("authorization")))


async def rate_limit(state: ApiState, principal: Principal) -> Decision:
    """Take one token from the tenant's rate-limit bucket (when limits are on)."""
    if state.settings.rate_limit_enabled:
        entry = state.registry.current().tenant(principal.tenant_id)
        if entry is not None:
            return await state.limiter.take(
                principal.tenant_id,
                rate=entry.limits.requests_per_second,
                burst=entry.limits.burst,
            )
    return _ALLOWED


def remember_principal(request: Request, principal: Principal) -> None:
    """Mark the request authenticated and charged: every :class:`TenantBearer` reuses it."""
    request.scope[_PRINCIPAL_SCOPE_KEY] = principal


async def authenticate(request: Request) -> Principal:
    """Verify the bearer token, then take one token from the tenant's rate-limit bucket."""
    principal = await verify_bearer(request)
    state = api_state(request)
    decision = await rate_limit(state, principal)
    if not decision.allowed:
        state.metrics.rate_limited.inc()
        raise RateLimitedError(retry_after_seconds=decision.retry_after_seconds)
    return principal


async def plain_principal(request: Request, *, roles: frozenset[str]) -> Principal | None:
    """Return the principal a plain-ASGI path may serve, charged and remembered; None when the
    route must answer instead (a bad token, no role of ``roles``, over the limit: nothing
    charged), so a request is authenticated and charged once whichever answers it."""
    try:
        principal = await verify_bearer(request)
    except RaglineError:
        return None
    if not principal.has_any(roles):
        return None
    if not (await rate_limit(api_state(request), principal)).allowed:
        return None
    remember_principal(request, principal)
    return principal


class TenantBearer(HTTPBearer):
    """The bearer scheme as a dependency returning the request's :class:`Principal`.

    With ``roles``, only principals holding one of them pass (403 otherwise).
    """

    def __init__(self, *roles: Role) -> None:
        super().__init__(auto_error=False, scheme_name=SCHEME_NAME, description=BEARER_DESCRIPTION)
        self.allowed: frozenset[str] | None = frozenset(roles) or None

    async def __call__(self, request: Request) -> Principal:  # type: ignore[override]
        principal = request.scope.get(_PRINCIPAL_SCOPE_KEY)
        if principal is None:
            principal = await authenticate(request)
            remember_principal(request, principal)
        if self.allowed is not None and not principal.has_any(self.allowed):
            raise ForbiddenError(f"requires one of the roles: {', '.join(sorted(self.allowed))}")
        return cast(Principal, principal)


def require(*roles: Role) -> TenantBearer:
    """Return a dependency that lets through only principals holding one of ``roles``."""
    return TenantBearer(*roles)


PrincipalDep = Annotated[Principal, Depends(TenantBearer())]
AnyRole = Annotated[Principal, Depends(require(*Role))]
Staff = Annotated[Principal, Depends(require(Role.STAFF, Role.ADMIN))]


def open_session(
    state: ApiState, principal: Principal
) -> AbstractAsyncContextManager[TenantSession]:
    """Return the principal's tenant-scoped unit of work: commits on success, rolls back on error.

    The hottest endpoints open it themselves rather than through :data:`SessionDep`: FastAPI runs
    a yield dependency's exit in an exit stack under a shielded cancel scope, which costs as much
    as a database round trip.
    """
    return tenant_session(state.engine, tenant_id=principal.tenant_id, role=state.db_role)


async def get_session(request: Request, principal: PrincipalDep) -> AsyncIterator[TenantSession]:
    """Yield the request's tenant-scoped unit of work; commit on success, roll back on error."""
    async with open_session(api_state(request), principal) as session:
        yield session


SessionDep = Annotated[TenantSession, Depends(get_session, scope="function")]
