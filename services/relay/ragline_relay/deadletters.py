"""The dead letters: listing, replaying and discarding them, for a tenant's admins only.

A tenant admin sees and acts on their own tenant's dead letters and no other's (another tenant's
dead letter is "not found"). Replaying moves the row back into the outbox with its attempts reset,
in one statement: the outbox trigger's NOTIFY wakes the relays, which validate and publish it like
any new event (an event still invalid comes straight back, with the new reason).
"""

from __future__ import annotations

import base64
import binascii
import json
import uuid
from datetime import datetime
from typing import Annotated, Any, cast

import asyncpg
from fastapi import APIRouter, Depends, Query, Request, Response
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import BaseModel, Field

from ragline_common.auth import Principal
from ragline_common.errors import (
    BadRequestError,
    ConflictError,
    ForbiddenError,
    NotFoundError,
    UnauthorizedError,
    problem_responses,
)
from ragline_relay.state import RelayState

ADMIN_ROLE = "admin"
LIST_SQL = """
SELECT id, type, aggregatetype, aggregateid, tenant_id, created_at, failed_at, reason, attempts,
       payload::text AS payload
FROM relay_dead_letters
WHERE tenant_id = $1 AND ($2::timestamptz IS NULL OR (failed_at, id) > ($2, $3::uuid))
ORDER BY failed_at, id
LIMIT $4
"""
GET_SQL = """
SELECT id, type, aggregatetype, aggregateid, tenant_id, created_at, failed_at, reason, attempts,
       payload::text AS payload
FROM relay_dead_letters WHERE id = $1 AND tenant_id = $2
"""
REPLAY_SQL = """
WITH moved AS (
  DELETE FROM relay_dead_letters WHERE id = $1 AND tenant_id = $2
  RETURNING id, aggregatetype, aggregateid, type, payload, tenant_id, created_at
)
INSERT INTO outbox (id, aggregatetype, aggregateid, type, payload, tenant_id, created_at)
SELECT id, aggregatetype, aggregateid, type, payload, tenant_id, created_at FROM moved
RETURNING id
"""
DISCARD_SQL = "DELETE FROM relay_dead_letters WHERE id = $1 AND tenant_id = $2 RETURNING id"

_bearer = HTTPBearer(auto_error=False, description="A tenant JWT with the admin role")


class DeadLetterPublic(BaseModel):
    """An event the relay could not publish."""

    id: uuid.UUID = Field(description="the event id")
    type: str
    aggregatetype: str
    aggregateid: str
    tenant_id: str
    created_at: datetime = Field(description="when the outbox row was written")
    failed_at: datetime = Field(description="when it was dead-lettered")
    reason: str
    attempts: int = Field(description="publish attempts made (1 for an invalid event)")
    payload: dict[str, Any] = Field(description="the CloudEvent as the API wrote it")


class DeadLetterPage(BaseModel):
    """One page of dead letters, oldest failure first."""

    items: list[DeadLetterPublic]
    next_cursor: str | None = Field(description="pass as `after` for the next page")


class ReplayPublic(BaseModel):
    """A dead letter put back into the outbox."""

    id: uuid.UUID
    status: str = "requeued"


def get_state(request: Request) -> RelayState:
    """Return the state the lifespan built."""
    return cast(RelayState, request.app.state.relay)


StateDep = Annotated[RelayState, Depends(get_state)]


async def require_admin(
    state: StateDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Principal:
    """Verify the bearer token and insist on the admin role."""
    if credentials is None:
        raise UnauthorizedError("missing bearer token")
    principal = await state.verifier.verify(credentials.credentials)
    if not principal.has_any({ADMIN_ROLE}):
        raise ForbiddenError(f"requires the {ADMIN_ROLE} role")
    return principal


AdminDep = Annotated[Principal, Depends(require_admin)]


def _public(record: Any) -> DeadLetterPublic:
    values = dict(record)
    values["payload"] = json.loads(values["payload"])
    return DeadLetterPublic.model_validate(values)


def _encode_cursor(item: DeadLetterPublic) -> str:
    raw = f"{item.failed_at.isoformat()}|{item.id}".encode()
    return base64.urlsafe_b64encode(raw).decode()


def _decode_cursor(cursor: str) -> tuple[datetime, uuid.UUID]:
    try:
        failed_at, _, event_id = base64.urlsafe_b64decode(cursor).decode().partition("|")
        return datetime.fromisoformat(failed_at), uuid.UUID(event_id)
    except (ValueError, binascii.Error) as exc:
        raise BadRequestError("malformed cursor") from exc


router = APIRouter(prefix="/v1/admin/dead-letters", tags=["dead letters"])


@router.get(
    "",
    summary="List the tenant's dead letters",
    responses=problem_responses(400, 401, 403, 422),
)
async def list_dead_letters(
    state: StateDep,
    admin: AdminDep,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    after: Annotated[str | None, Query(description="cursor from the previous page")] = None,
) -> DeadLetterPage:
    """Return dead letters of the caller's tenant, oldest failure first."""
    failed_at, event_id = _decode_cursor(after) if after else (None, None)
    async with state.pool.acquire() as conn:
        records = await conn.fetch(LIST_SQL, admin.tenant_id, failed_at, event_id, limit)
    items = [_public(record) for record in records]
    next_cursor = _encode_cursor(items[-1]) if len(items) == limit else None
    return DeadLetterPage(items=items, next_cursor=next_cursor)


@router.get(
    "/{event_id}",
    summary="Show one dead letter",
    responses=problem_responses(401, 403, 404, 422),
)
async def get_dead_letter(
    state: StateDep, admin: AdminDep, event_id: uuid.UUID
) -> DeadLetterPublic:
    """Return one dead letter of the caller's tenant."""
    async with state.pool.acquire() as conn:
        record = await conn.fetchrow(GET_SQL, event_id, admin.tenant_id)
    if record is None:
        raise NotFoundError("no such dead letter")
    return _public(record)


@router.post(
    "/{event_id}/replay",
    status_code=202,
    summary="Put a dead letter back into the outbox",
    responses=problem_responses(401, 403, 404, 409, 422),
)
async def replay_dead_letter(state: StateDep, admin: AdminDep, event_id: uuid.UUID) -> ReplayPublic:
    """Move the dead letter back into the outbox; the relays publish it again."""
    try:
        async with state.pool.acquire() as conn:
            replayed = await conn.fetchval(REPLAY_SQL, event_id, admin.tenant_id)
    except asyncpg.UniqueViolationError as exc:
        raise ConflictError("the event is already in the outbox") from exc
    if replayed is None:
        raise NotFoundError("no such dead letter")
    return ReplayPublic(id=event_id)


@router.delete(
    "/{event_id}",
    status_code=204,
    summary="Discard a dead letter for good",
    responses=problem_responses(401, 403, 404, 422),
)
async def discard_dead_letter(state: StateDep, admin: AdminDep, event_id: uuid.UUID) -> Response:
    """Delete the dead letter; the event is never published."""
    async with state.pool.acquire() as conn:
        discarded = await conn.fetchval(DISCARD_SQL, event_id, admin.tenant_id)
    if discarded is None:
        raise NotFoundError("no such dead letter")
    return Response(status_code=204)
