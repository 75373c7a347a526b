"""FastAPI dependencies as ``Annotated`` aliases: the state and the verified caller."""

from __future__ import annotations

from typing import Annotated, cast

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from ragline_common.errors import ForbiddenError, UnauthorizedError
from ragline_llm.chat.service import Caller
from ragline_llm.state import LlmState

_bearer = HTTPBearer(auto_error=False, description="A tenant JWT")
# Roles that may change a tenant's knowledge (documents, promotions); anyone may chat.
EDITOR_ROLES = frozenset({"staff", "admin"})


async def get_state(request: Request) -> LlmState:
    """Return the state the lifespan built (async: a sync dependency would cost a thread hop)."""
    return cast(LlmState, request.app.state.llm)


StateDep = Annotated[LlmState, Depends(get_state)]


async def get_caller(
    state: StateDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Caller:
    """Verify the bearer token and look up the caller's tenant."""
    if credentials is None:
        raise UnauthorizedError("missing bearer token")
    principal = await state.verifier.verify(credentials.credentials)
    tenant = state.registry.current().tenant(principal.tenant_id)
    if tenant is None:
        raise UnauthorizedError("unknown tenant")
    return Caller(principal=principal, token=credentials.credentials, tenant=tenant)


CallerDep = Annotated[Caller, Depends(get_caller)]


async def get_editor(caller: CallerDep) -> Caller:
    """Let through only staff and admins."""
    if not caller.principal.has_any(EDITOR_ROLES):
        raise ForbiddenError("requires one of the roles: admin, staff")
    return caller


EditorDep = Annotated[Caller, Depends(get_editor)]
