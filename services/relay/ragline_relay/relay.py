"""The relay's loops: claim a batch, publish it, mark it — at least once, in per-aggregate order.

Each of ``workers`` loops runs one batch at a time in its own transaction: claim (see
:mod:`ragline_relay.claims`), validate, publish and wait for the broker's acknowledgement, then mark
what was acknowledged and settle what was not, and commit. A relay killed anywhere in between
leaves its rows pending and unlocked (the transaction dies with the connection), so another relay
publishes them again: the stream may hold an event twice, never lose one, and consumers
de-duplicate on the event id. Concurrent batches never share an aggregate, so they may finish in
any order without reordering an aggregate's events.

A loop goes straight on while batches come back full, waits briefly (then longer) while rows are
held back behind another batch or a retry, and otherwise sleeps until the doorbell rings (NOTIFY)
or the poll interval passes. A failed batch (broker or database unavailable) is rolled back as a
whole and the loop backs off exponentially, up to a few seconds, so an outage ends without anyone
restarting it.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from dataclasses import dataclass

import asyncpg

from ragline_common.logs import get_logger
from ragline_relay import backoff
from ragline_relay.claims import (
    CLAIM_SQL,
    DEAD_LETTER_SQL,
    FORGET_RETRIES_SQL,
    MARK_PUBLISHED_SQL,
    SCHEDULE_RETRIES_SQL,
    STATS_SQL,
    DeadLetter,
    Retry,
    to_claim,
)
from ragline_relay.messages import Message, OutboxRow, to_message
from ragline_relay.metrics import RelayMetrics
from ragline_relay.publishers.base import BrokerError, HeldBackError, Publisher
from ragline_relay.retention import OutboxPurger
from ragline_relay.settings import RelaySettings
from ragline_relay.wakeup import Doorbell, NotifyListener

log = get_logger(__name__)
DATABASE_ERRORS = (OSError, asyncpg.PostgresError, asyncpg.InterfaceError)
# Rows held back behind another batch become claimable when that batch commits, which rings no
# bell (nothing was inserted): look again after about one batch's time, then back off.
HELD_BACK_RETRY_SECONDS = 0.01
FIRST_BROKER_BACKOFF_SECONDS = 0.05


@dataclass(frozen=True)
class BatchResult:
    """What one batch did."""

    claimed: int
    published: int
    blocked: int


@dataclass
class _Settlement:
    published: list[OutboxRow]
    retries: list[Retry]
    dead: list[DeadLetter]


class Relay:
    """Drains the outbox into one broker with ``settings.workers`` concurrent loops."""

    def __init__(
        self,
        *,
        pool: asyncpg.Pool,
        publisher: Publisher,
        settings: RelaySettings,
        metrics: RelayMetrics,
        dsn: str,
    ) -> None:
        self._pool = pool
        self._publisher = publisher
        self._settings = settings
        self._metrics = metrics
        self.doorbell = Doorbell()
        self.listener = NotifyListener(
            dsn=dsn, doorbell=self.doorbell, backoff_cap_seconds=settings.broker_backoff_max_seconds
        )
        self.purger = OutboxPurger(
            pool=pool,
            metrics=metrics,
            retention_seconds=settings.outbox_retention_seconds,
            batch_size=settings.outbox_purge_batch_size,
            interval_seconds=settings.outbox_purge_interval_seconds,
        )
        self._stopping = False
        self.published_total = 0
        self._last_published = 0
        self._last_stats_at = time.monotonic()

    async def run(self) -> None:
        """Run the loops (and the listener, statistics and purge) until cancelled or stopped."""
        helpers = [asyncio.create_task(self._stats_loop(), name="relay-stats")]
        if self._settings.listen_notify:
            helpers.append(asyncio.create_task(self.listener.run(), name="relay-listen"))
        if self._settings.outbox_retention_seconds > 0:
            helpers.append(asyncio.create_task(self.purger.run(), name="relay-purge"))
        try:
            await asyncio.gather(*(self._worker() for _ in range(self._settings.workers)))
        finally:
            for task in helpers:
                task.cancel()
            await asyncio.gather(*helpers, return_exceptions=True)

    def stop(self) -> None:
        """Let the loops finish their batch in flight and return."""
        self._stopping = True
        self.doorbell.ring()

    async def _worker(self) -> None:
        waits = backoff.Backoff(
            base=FIRST_BROKER_BACKOFF_SECONDS, cap=self._settings.broker_backoff_max_seconds
        )
        held_back = HELD_BACK_RETRY_SECONDS
        while not self._stopping:
            try:
                result = await self.run_batch()
            except BrokerError as exc:
                self._metrics.failures.labels("batch").inc()
                log.warning("batch failed; backing off", error=str(exc), failures=waits.failures)
                await self._publisher.reset()
                await asyncio.sleep(waits.next())
                continue
            except DATABASE_ERRORS as exc:
                log.warning("outbox database unavailable; backing off", error=str(exc))
                await asyncio.sleep(waits.next())
                continue
            except Exception:
                # A bug must not leave a live process that silently publishes nothing.
                log.exception("batch failed unexpectedly; backing off")
                await asyncio.sleep(waits.next())
                continue
            waits.reset()
            if result.published and result.claimed >= self._settings.batch_size:
                held_back = HELD_BACK_RETRY_SECONDS
            elif result.blocked:
                # Behind a batch in flight this clears at once; behind an event waiting for its
                # retry it may take minutes: look again ever less often.
                await self.doorbell.wait(held_back)
                held_back = min(held_back * 2, self._settings.poll_interval_seconds)
            else:
                held_back = HELD_BACK_RETRY_SECONDS
                await self.doorbell.wait(self._settings.poll_interval_seconds)

    async def run_batch(self) -> BatchResult:
        """Claim, publish and settle one batch in one transaction; return what it did."""
        started = time.perf_counter()
        async with self._pool.acquire() as conn, conn.transaction():
            claim = to_claim(await conn.fetch(CLAIM_SQL, self._settings.batch_size))
            published = 0
            if claim.rows:
                settlement = await self._publish(claim.rows)
                await self._settle(conn, settlement)
                published = len(settlement.published)
        if claim.claimed:
            self._metrics.batch_duration.observe(time.perf_counter() - started)
            self._metrics.published.inc(published)
            self.published_total += published
            if claim.blocked:
                self._metrics.blocked.inc(claim.blocked)
        return BatchResult(claimed=claim.claimed, published=published, blocked=claim.blocked)

    async def _publish(self, rows: list[OutboxRow]) -> _Settlement:
        settlement = _Settlement(published=[], retries=[], dead=[])
        sendable: list[OutboxRow] = []
        messages: list[Message] = []
        for row in rows:
            message = to_message(row)
            if isinstance(message, str):
                self._metrics.failures.labels("invalid").inc()
                log.warning("invalid event dead-lettered", event_id=str(row.id), reason=message)
                settlement.dead.append(DeadLetter(row.id, f"invalid: {message}", row.attempts + 1))
            else:
                sendable.append(row)
                messages.append(message)
        if not messages:
            return settlement
        try:
            async with asyncio.timeout(self._settings.publish_timeout_seconds):
                outcomes = await self._publisher.publish(messages)
        except TimeoutError as exc:
            raise BrokerError("the broker did not acknowledge the batch in time") from exc
        for row, outcome in zip(sendable, outcomes, strict=True):
            if outcome is None:
                settlement.published.append(row)
            elif isinstance(outcome, HeldBackError):
                self._metrics.blocked.inc()
            else:
                self._refused(row, outcome, settlement)
        return settlement

    def _refused(self, row: OutboxRow, error: BaseException, settlement: _Settlement) -> None:
        self._metrics.failures.labels("event").inc()
        attempt = row.attempts + 1
        reason = f"{type(error).__name__}: {error}"
        if attempt >= self._settings.max_attempts:
            log.warning("event out of attempts; dead-lettered", event_id=str(row.id), error=reason)
            settlement.dead.append(DeadLetter(row.id, f"publish failed: {reason}", attempt))
            return
        wait = backoff.delay(
            attempt, base=self._settings.retry_base_seconds, cap=self._settings.retry_max_seconds
        )
        log.info("event refused by the broker; retrying", event_id=str(row.id), wait_s=wait)
        settlement.retries.append(Retry(row.id, wait, reason))

    async def _settle(self, conn: asyncpg.Connection, settlement: _Settlement) -> None:
        if settlement.published:
            ids = [row.id for row in settlement.published]
            await conn.execute(MARK_PUBLISHED_SQL, ids)
            retried = [row.id for row in settlement.published if row.attempts]
            if retried:
                await conn.execute(FORGET_RETRIES_SQL, retried)
        if settlement.retries:
            retries = settlement.retries
            await conn.execute(
                SCHEDULE_RETRIES_SQL,
                [r.id for r in retries],
                [r.delay_seconds for r in retries],
                [r.error for r in retries],
            )
        if settlement.dead:
            dead = settlement.dead
            await conn.execute(
                DEAD_LETTER_SQL,
                [d.id for d in dead],
                [d.reason for d in dead],
                [d.attempts for d in dead],
            )
            self._metrics.dead_lettered.inc(len(dead))

    async def _stats_loop(self) -> None:
        while not self._stopping:
            with contextlib.suppress(*DATABASE_ERRORS):
                await self.sample_stats()
            await asyncio.sleep(self._settings.stats_interval_seconds)

    async def sample_stats(self) -> None:
        """Read pending rows, the oldest one's age and the dead letters into the gauges."""
        async with self._pool.acquire() as conn:
            row = await conn.fetchrow(STATS_SQL)
        self._metrics.pending.set(row["pending"])
        self._metrics.oldest_pending_age.set(row["oldest_age"] or 0.0)
        self._metrics.dead_letters.set(row["dead_letters"])
        now = time.monotonic()
        published = self.published_total
        elapsed = now - self._last_stats_at
        if elapsed > 0:
            self._metrics.publish_rate.set((published - self._last_published) / elapsed)
        self._last_published, self._last_stats_at = published, now

    async def ping_database(self) -> None:
        """Raise unless the outbox database answers and holds the outbox (the API migrated it)."""
        async with self._pool.acquire() as conn:
            await conn.fetchval("SELECT 1 FROM outbox LIMIT 0")
