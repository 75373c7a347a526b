"""``Idempotency-Key``: the same request twice gets the same answer, and only one order.

The key is claimed with ``INSERT … ON CONFLICT`` in the order's own transaction (the same
statement also reads the products to price, see the orders repository), and the response is stored
by the statement that writes the order. A concurrent duplicate blocks on the unique index until the
first transaction ends: if it committed, the duplicate finds the stored response and replays it; if
it rolled back, the duplicate's insert succeeds and it does the work itself. So the key, the order,
its outbox row and the stored response commit together or not at all.

Keys are scoped to the tenant; the fingerprint covers the user and the request body, so the same
key with another body (or from another user) is refused with a 422 naming the header.

Keys expire ``RAGLINE_API_IDEMPOTENCY_TTL_SECONDS`` after they were claimed (default 24 hours, as
Stripe does): an expired key is claimed anew by the next request that sends it (the conflict turns
into an update of the old row, under the same row lock), so it places a new order. Expired rows are
deleted by :func:`purge_loop`, which the API runs in the background: batches of the oldest expired
keys (the ``idempotency_keys_created_idx`` index), each in its own short transaction, skipping rows
a claim holds locked, so replicas purging at the same time never wait for one another.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta

from prometheus_client import Counter
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from ragline_common.db import TenantSession
from ragline_common.errors import ConflictError, FieldProblem, UnprocessableError
from ragline_common.retention import purge_every, purge_in_batches

HEADER = "Idempotency-Key"
# A CTE for a driver statement that claims the key (it yields a row when the key is ours): a new
# key is inserted; an expired one is taken over as if new; a live one yields nothing (after
# waiting for the transaction that holds it, if any). Parameters: $1 tenant, $2 key, $3 request
# hash, $4 the TTL (an interval: a ``timedelta``).
CLAIM_CTE = """
claim AS (
  INSERT INTO idempotency_keys AS k (tenant_id, key, request_hash, created_at)
  VALUES ($1, $2, $3, now())
  ON CONFLICT (tenant_id, key) DO UPDATE
    SET request_hash = EXCLUDED.request_hash, status_code = NULL, response = NULL,
        created_at = EXCLUDED.created_at
    WHERE k.created_at < now() - CAST($4 AS interval)
  RETURNING 1
)"""
_STORED = (
    "SELECT request_hash, status_code, response FROM idempotency_keys "
    "WHERE tenant_id = $1 AND key = $2"
)
# The oldest expired keys first, as the DSN's user (the table's owner: row-level security does not
# apply, so one statement purges every tenant). Rows locked by a claim are skipped, not waited for.
_PURGE = text("""
WITH expired AS (
  SELECT tenant_id, key FROM idempotency_keys
  WHERE created_at < now() - CAST(:ttl AS interval)
  ORDER BY created_at
  LIMIT :batch
  FOR UPDATE SKIP LOCKED
)
DELETE FROM idempotency_keys AS k USING expired
WHERE k.tenant_id = expired.tenant_id AND k.key = expired.key
""")
KEY_PATTERN = r"^[\x21-\x7e]{1,255}$"


@dataclass(frozen=True)
class StoredResponse:
    """The response first given for a key."""

    status_code: int
    body: str


def fingerprint(*, user_id: str, body_json: str) -> str:
    """Return the fingerprint of a request: who sent it and what it said."""
    return hashlib.sha256(f"{user_id}\n{body_json}".encode()).hexdigest()


async def stored_response(session: TenantSession, *, key: str, request_hash: str) -> StoredResponse:
    """Return the response stored under ``key``, which this request could not claim.

    Raises 422 if the key was used for another request, 409 if its answer is not stored yet.
    """
    driver = await session.driver()
    row = await driver.fetchrow(_STORED, session.tenant_id, key)
    if row is None or row["status_code"] is None or row["response"] is None:
        # Only committed claims are visible here, and they always carry their response.
        raise ConflictError("a request with this Idempotency-Key is in progress")
    if row["request_hash"] != request_hash:
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
    return StoredResponse(status_code=row["status_code"], body=row["response"])


async def purge_expired(engine: AsyncEngine, *, ttl: timedelta, batch_size: int) -> int:
    """Delete up to ``batch_size`` of the oldest expired keys in one transaction; say how many."""
    async with engine.begin() as conn:
        result = await conn.execute(_PURGE, {"ttl": ttl, "batch": batch_size})
    return result.rowcount


async def purge_all_expired(
    engine: AsyncEngine,
    *,
    ttl: timedelta,
    batch_size: int,
    max_batches: int,
    on_deleted: Callable[[int], None] | None = None,
) -> int:
    """Purge batch after batch until one comes back short or ``max_batches`` ran; return the total.

    Bounded, so a backlog (a purge that was off for a while) is worked off over several runs
    instead of keeping one connection busy for minutes.
    """
    return await purge_in_batches(
        lambda: purge_expired(engine, ttl=ttl, batch_size=batch_size),
        batch_size=batch_size,
        max_batches=max_batches,
        on_deleted=on_deleted,
    )


async def purge_loop(
    engine: AsyncEngine,
    *,
    ttl: timedelta,
    interval_seconds: float,
    batch_size: int,
    max_batches: int,
    purged: Counter | None = None,
) -> None:
    """Purge expired keys every ``interval_seconds`` until cancelled; failures are logged."""
    await purge_every(
        interval_seconds,
        lambda: purge_all_expired(
            engine,
            ttl=ttl,
            batch_size=batch_size,
            max_batches=max_batches,
            on_deleted=purged.inc if purged is not None else None,
        ),
        what="expired idempotency keys",
    )
