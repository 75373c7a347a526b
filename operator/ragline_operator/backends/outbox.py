"""How far behind an EventStream's relay is: its outbox backlog, read from the outbox database.

The relay exports the same figures as metrics, but the operator cannot scrape pods (it may run
outside the cluster network, and Prometheus may not be there at all), while it can reach the
database the EventStream names. The read is two cheap aggregates: ``count(*)`` and ``min()`` over
the partial index of pending rows (``outbox_pending_idx``), and a count of the relay's dead
letters. It runs under a short statement timeout, so a huge or locked backlog costs the resync
loop no more than that.

The tables belong to the API (``outbox``) and the relay (``relay_dead_letters``) and appear when
their migrations have run: until then the reading says ``NotMigrated``, which is normal for a
fresh pipeline, not a failure.
"""

from __future__ import annotations

import asyncio
import math
from dataclasses import dataclass

import asyncpg

from ragline_operator.backends.common import describe, redact_url, scrub

# Milliseconds: the figures are a courtesy; never let them hold the resync loop.
STATEMENT_TIMEOUT_MS = 2000

OUTBOX_QUERY = """
SELECT to_regclass('outbox') IS NOT NULL AS migrated,
       to_regclass('relay_dead_letters') IS NOT NULL AS relay_migrated
"""
PENDING_QUERY = """
SELECT count(*) AS pending, extract(epoch FROM now() - min(created_at))::float8 AS oldest
FROM outbox WHERE published_at IS NULL
"""
DEAD_LETTERS_QUERY = "SELECT count(*) FROM relay_dead_letters"


@dataclass(frozen=True)
class OutboxReading:
    """The outbox backlog, or why it could not be read (``reason`` then says which case)."""

    readable: bool
    reason: str
    message: str
    pending: int | None = None
    oldest_pending_seconds: int | None = None
    dead_letters: int | None = None

    def status(self) -> dict[str, int | None] | None:
        """``status.outbox`` (camelCase; None, which deletes the field, when unreadable)."""
        if not self.readable:
            return None
        return {
            "pending": self.pending,
            "oldestPendingSeconds": self.oldest_pending_seconds,
            "deadLetters": self.dead_letters,
        }


async def read_outbox(dsn: str, *, seconds: float) -> OutboxReading:
    """Read the pending rows, the oldest one's age (whole seconds) and the dead letters."""
    where = redact_url(dsn)
    try:
        async with asyncio.timeout(seconds):
            connection = await asyncpg.connect(
                dsn,
                timeout=seconds,
                server_settings={
                    "application_name": "ragline-operator",
                    "statement_timeout": str(STATEMENT_TIMEOUT_MS),
                },
            )
            try:
                tables = await connection.fetchrow(OUTBOX_QUERY)
                if not tables["migrated"]:
                    return OutboxReading(
                        readable=False,
                        reason="NotMigrated",
                        message=f"PostgreSQL at {where} has no outbox table yet",
                    )
                pending = await connection.fetchrow(PENDING_QUERY)
                dead = None
                if tables["relay_migrated"]:
                    dead = int(await connection.fetchval(DEAD_LETTERS_QUERY))
            finally:
                await connection.close(timeout=seconds)
    except Exception as exc:  # asyncpg raises many types for "cannot connect / refused"
        message = scrub(f"PostgreSQL at {where}: {describe(exc)}", [dsn])
        return OutboxReading(readable=False, reason="Unreachable", message=message)
    oldest = pending["oldest"]
    return OutboxReading(
        readable=True,
        reason="Read",
        message=f"outbox at {where}: {pending['pending']} pending",
        pending=int(pending["pending"]),
        # Whole seconds, rounded up: a row 0.2 s old is pending, not "0 seconds behind".
        oldest_pending_seconds=None if oldest is None else math.ceil(max(oldest, 0.0)),
        dead_letters=dead,
    )
