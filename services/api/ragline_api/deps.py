"""FastAPI dependencies as ``Annotated`` aliases: state, principal (with rate limit), session.

Authentication runs before the rate limit, so bad tokens never spend a tenant's budget, and the
session dependency is function-scoped: it commits (and invalidates caches) before the response
is sent, never after.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Coroutine
from typing import Annotated, Any, cast

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from ragline_api.roles import Role
from ragline_api.state import ApiState
from ragline_common.auth import Principal
from ragline_common.db import TenantSession, tenant_session
from ragline_common.errors import ForbiddenError, RateLimitedError, UnauthorizedError

_bearer = HTTPBearer(auto_error=False, description="A tenant JWT (`ragline token` mints one)")


async def get_state(request: Request) -> ApiState:
    """Return the state the lifespan built (async: a sync dependency would cost a thread hop)."""
    return cast(ApiState, request.app.state.api)


StateDep = Annotated[ApiState, Depends(get_state)]


async def get_principal(
    state: StateDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Principal:
    """Verify the bearer token, then take one token from the tenant's rate-limit bucket."""
    if credentials is None:
        raise UnauthorizedError("missing bearer token")
    principal = await state.verifier.verify(credentials.credentials)
    if state.settings.rate_limit_enabled:
        entry = state.registry.current().tenant(principal.tenant_id)
        if entry is not None:
            decision = await state.limiter.take(
                principal.tenant_id,
                rate=entry.limits.requests_per_second,
                burst=entry.limits.burst,
            )
            if not decision.allowed:
                state.metrics.rate_limited.inc()
                raise RateLimitedError(retry_after_seconds=decision.retry_after_seconds)
    return principal


PrincipalDep = Annotated[Principal, Depends(get_principal)]


def require(*roles: Role) -> Callable[..., Coroutine[Any, Any, Principal]]:
    """Return a dependency that lets through only principals holding one of ``roles``."""
    allowed = frozenset(roles)

    async def check(principal: PrincipalDep) -> Principal:
        if not principal.has_any(allowed):
            raise ForbiddenError(f"requires one of the roles: {', '.join(sorted(allowed))}")
        return principal

    return check


AnyRole = Annotated[Principal, Depends(require(*Role))]
Staff = Annotated[Principal, Depends(require(Role.STAFF, Role.ADMIN))]


async def get_session(state: StateDep, principal: PrincipalDep) -> AsyncIterator[TenantSession]:
    """Yield the request's tenant-scoped unit of work; commit on success, roll back on error."""
    async with tenant_session(
        state.engine, tenant_id=principal.tenant_id, role=state.db_role
    ) as session:
        yield session


SessionDep = Annotated[TenantSession, Depends(get_session, scope="function")]
