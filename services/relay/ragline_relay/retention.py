"""Outbox retention: published rows older than ``outbox_retention_seconds`` are deleted.

A row marked published has done its work (the broker acknowledged the event); it stays a while
only as a receipt. Every ``outbox_purge_interval_seconds`` the relay deletes such rows in batches
of ``outbox_purge_batch_size``, oldest first, each batch its own short statement, until a batch
comes back short. The partial index ``outbox_published_idx`` (the API's migration ``0003``)
holds only published rows in publication order, so finding a batch is a short range scan.

Only published rows are candidates: a pending row (``published_at`` NULL, waiting for its turn
or for a retry) never matches, and dead letters live in ``relay_dead_letters``, which this never
touches. ``FOR UPDATE SKIP LOCKED`` lets several relays purge at once without waiting on each
other; one would do, the others only find less to delete.
"""

from __future__ import annotations

import asyncpg

from ragline_common.retention import purge_every, purge_in_batches
from ragline_relay.metrics import RelayMetrics

DATABASE_ERRORS = (OSError, asyncpg.PostgresError, asyncpg.InterfaceError)

PURGE_SQL = """
WITH doomed AS (
  SELECT id FROM outbox
  WHERE published_at IS NOT NULL AND published_at < now() - make_interval(secs => $1)
  ORDER BY published_at
  LIMIT $2
  FOR UPDATE SKIP LOCKED
)
DELETE FROM outbox o USING doomed d WHERE o.id = d.id
"""


def deleted_rows(status: str) -> int:
    """Return the row count of a ``DELETE <n>`` command status."""
    return int(status.rsplit(" ", 1)[-1])


class OutboxPurger:
    """Deletes published outbox rows past their retention, in small batches."""

    def __init__(
        self,
        *,
        pool: asyncpg.Pool,
        metrics: RelayMetrics,
        retention_seconds: float,
        batch_size: int,
        interval_seconds: float,
    ) -> None:
        self._pool = pool
        self._metrics = metrics
        self._retention_seconds = retention_seconds
        self._batch_size = batch_size
        self._interval_seconds = interval_seconds

    async def _delete_batch(self) -> int:
        async with self._pool.acquire() as conn:
            status = await conn.execute(PURGE_SQL, self._retention_seconds, self._batch_size)
        return deleted_rows(status)

    async def purge(self) -> int:
        """Delete every published row past the retention, batch by batch; return how many."""
        return await purge_in_batches(
            self._delete_batch, batch_size=self._batch_size, on_deleted=self._metrics.purged.inc
        )

    async def run(self) -> None:
        """Purge every interval until cancelled; a database outage only skips a round."""
        await purge_every(
            self._interval_seconds,
            self.purge,
            what="published outbox rows",
            errors=DATABASE_ERRORS,
        )
