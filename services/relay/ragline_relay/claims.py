"""The relay's SQL: claiming outbox batches in per-aggregate order, and settling them.

Claiming. ``SELECT … FOR UPDATE SKIP LOCKED`` takes the oldest pending rows nobody else holds, so
several relays (and several loops of one relay) share the outbox without waiting on each other.
SKIP LOCKED alone would break per-aggregate order: relay A holds an order's first event while
relay B claims its second and publishes it first. So the same statement also finds, for each
claimed aggregate, the oldest pending row it did *not* claim (held by another batch in flight,
waiting for a retry, or committed after the claim's snapshot); claimed rows of that aggregate from
there on come back ``blocked`` and are left alone. Hence a row is published only when every older
row of its aggregate is already published (acknowledged by the broker and marked) or comes before
it in the same batch — which the publisher sends in order. Batches in flight therefore never share
an aggregate, and may be published concurrently. The check costs one range scan of the pending
index over the rows older than the batch: the batch itself plus other batches in flight.

Settling, in the claim's transaction: acknowledged rows get ``published_at``; a row the broker
refused gets ``attempts + 1`` and a retry time (exponential backoff) in ``relay_retries``; a row
that is invalid or out of attempts moves to ``relay_dead_letters`` with the reason.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from ragline_relay.messages import OutboxRow

CLAIM_SQL = """
WITH claimed AS (
  SELECT o.id, o.aggregatetype, o.aggregateid, o.type, o.tenant_id, o.payload::text AS payload,
         o.attempts, o.created_at
  FROM outbox o
  WHERE o.published_at IS NULL
    AND NOT EXISTS (
      SELECT 1 FROM relay_retries r WHERE r.event_id = o.id AND r.not_before > now()
    )
  ORDER BY o.created_at, o.id
  LIMIT $1
  FOR UPDATE OF o SKIP LOCKED
), blockers AS (
  SELECT p.aggregateid, min(p.created_at) AS first_at
  FROM outbox p
  WHERE p.published_at IS NULL
    AND p.created_at <= (SELECT max(created_at) FROM claimed)
    AND p.aggregateid IN (SELECT aggregateid FROM claimed)
    AND p.id NOT IN (SELECT id FROM claimed)
  GROUP BY p.aggregateid
)
SELECT c.id, c.aggregatetype, c.aggregateid, c.type, c.tenant_id, c.payload, c.attempts,
       coalesce(c.created_at >= b.first_at, false) AS blocked
FROM claimed c LEFT JOIN blockers b USING (aggregateid)
ORDER BY c.created_at, c.id
"""

MARK_PUBLISHED_SQL = """
UPDATE outbox SET published_at = now(), attempts = attempts + 1
WHERE id = ANY($1::uuid[])
"""

FORGET_RETRIES_SQL = "DELETE FROM relay_retries WHERE event_id = ANY($1::uuid[])"

SCHEDULE_RETRIES_SQL = """
WITH bumped AS (
  UPDATE outbox o SET attempts = o.attempts + 1
  FROM unnest($1::uuid[], $2::float8[], $3::text[]) AS f(id, delay, error)
  WHERE o.id = f.id
  RETURNING o.id, f.delay, f.error
)
INSERT INTO relay_retries (event_id, not_before, last_error)
SELECT id, now() + make_interval(secs => delay), error FROM bumped
ON CONFLICT (event_id) DO UPDATE
  SET not_before = EXCLUDED.not_before, last_error = EXCLUDED.last_error
"""

DEAD_LETTER_SQL = """
WITH moved AS (
  DELETE FROM outbox o
  USING unnest($1::uuid[], $2::text[], $3::int[]) AS f(id, reason, attempts)
  WHERE o.id = f.id
  RETURNING o.id, o.aggregatetype, o.aggregateid, o.type, o.payload, o.tenant_id, o.created_at,
            f.reason, f.attempts
), forgotten AS (
  DELETE FROM relay_retries r USING moved m WHERE r.event_id = m.id
)
INSERT INTO relay_dead_letters
  (id, aggregatetype, aggregateid, type, payload, tenant_id, created_at, reason, attempts)
SELECT id, aggregatetype, aggregateid, type, payload, tenant_id, created_at, reason, attempts
FROM moved
ON CONFLICT (id) DO UPDATE
  SET reason = EXCLUDED.reason, attempts = EXCLUDED.attempts, failed_at = now()
"""

STATS_SQL = """
SELECT
  (SELECT count(*) FROM outbox WHERE published_at IS NULL) AS pending,
  (SELECT extract(epoch FROM now() - min(created_at))::float8
     FROM outbox WHERE published_at IS NULL) AS oldest_age,
  (SELECT count(*) FROM relay_dead_letters) AS dead_letters
"""


@dataclass(frozen=True)
class Claim:
    """One claimed batch: the rows to publish now, in order, and how many were held back."""

    rows: list[OutboxRow]
    blocked: int

    @property
    def claimed(self) -> int:
        """Rows the claim locked (published or held back)."""
        return len(self.rows) + self.blocked


@dataclass(frozen=True)
class Retry:
    """A row the broker refused, to try again after ``delay_seconds``."""

    id: uuid.UUID
    delay_seconds: float
    error: str


@dataclass(frozen=True)
class DeadLetter:
    """A row to move to the dead letters."""

    id: uuid.UUID
    reason: str
    attempts: int


def to_claim(records: Sequence[Any]) -> Claim:
    """Split the claim statement's records (asyncpg ``Record``, columns in :data:`CLAIM_SQL`'s
    order) into rows to publish and a count of the ones held back."""
    rows: list[OutboxRow] = []
    blocked = 0
    for record in records:
        # Unpacking by position: looking each column up by name cost more than the validation.
        event_id, aggregatetype, aggregateid, type_, tenant_id, payload, attempts, held = record
        if held:
            blocked += 1
            continue
        rows.append(
            OutboxRow(event_id, aggregatetype, aggregateid, type_, tenant_id, payload, attempts)
        )
    return Claim(rows=rows, blocked=blocked)
