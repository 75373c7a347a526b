"""``Idempotency-Key``: the same request twice gets the same answer, and only one order.

The key is claimed with ``INSERT … ON CONFLICT DO NOTHING`` in the order's own transaction, and
the response is stored by the statement that writes the order (see the orders repository). A
concurrent duplicate blocks on the unique index until the first transaction ends: if it
committed, the duplicate finds the stored response and replays it; if it rolled back, the
duplicate's insert succeeds and it does the work itself. So the key, the order, its outbox row
and the stored response commit together or not at all.

Keys are scoped to the tenant; the fingerprint covers the user and the request body, so the same
key with another body (or from another user) is refused with a 422 naming the header.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from sqlalchemy import text

from ragline_common.db import TenantSession
from ragline_common.errors import ConflictError, FieldProblem, UnprocessableError

HEADER = "Idempotency-Key"
_CLAIM = text(
    "INSERT INTO idempotency_keys (tenant_id, key, request_hash, created_at) "
    "VALUES (:tenant_id, :key, :hash, now()) ON CONFLICT DO NOTHING RETURNING key"
)
_STORED = text(
    "SELECT request_hash, status_code, response FROM idempotency_keys "
    "WHERE tenant_id = :tenant_id AND key = :key"
)
KEY_PATTERN = r"^[\x21-\x7e]{1,255}$"


@dataclass(frozen=True)
class StoredResponse:
    """The response first given for a key."""

    status_code: int
    body: str


def fingerprint(*, user_id: str, body_json: str) -> str:
    """Return the fingerprint of a request: who sent it and what it said."""
    return hashlib.sha256(f"{user_id}\n{body_json}".encode()).hexdigest()


async def claim(session: TenantSession, *, key: str, request_hash: str) -> StoredResponse | None:
    """Claim ``key`` for this request; return the stored response if it was answered already."""
    params = {"tenant_id": session.tenant_id, "key": key, "hash": request_hash}
    claimed = (await session.execute(_CLAIM, params)).first()
    if claimed is not None:
        return None
    row = (await session.execute(_STORED, {"tenant_id": session.tenant_id, "key": key})).first()
    if row is None or row.status_code is None or row.response is None:
        # Only committed claims are visible here, and they always carry their response.
        raise ConflictError("a request with this Idempotency-Key is in progress")
    if row.request_hash != request_hash:
        raise UnprocessableError(
            "this Idempotency-Key was used with a different request",
            errors=[
                FieldProblem(
                    field=HEADER,
                    message="reused with a different request body",
                    location="header",
                    type="idempotency_key_reused",
                )
            ],
        )
    return StoredResponse(status_code=row.status_code, body=row.response)
