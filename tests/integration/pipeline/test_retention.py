"""Published outbox rows past the retention are purged; pending rows and dead letters stay."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import AsyncIterator, Sequence
from datetime import timedelta
from typing import Any

import asyncpg
import pytest

from ragline_relay import migrations
from ragline_relay.metrics import RelayMetrics
from ragline_relay.retention import PURGE_SQL, OutboxPurger
from tests.integration.pipeline.conftest import Pipeline
from tests.integration.pipeline.support import Clock, insert_rows, order_created, wait_until

pytestmark = pytest.mark.integration

RETENTION_SECONDS = 3600
PURGED_METRIC = "ragline_relay_outbox_purged_rows_total"


async def publish(
    conn: asyncpg.Connection, rows: Sequence[dict[str, Any]], *, ago: timedelta
) -> None:
    """Mark ``rows`` published ``ago``."""
    await conn.execute(
        "UPDATE outbox SET published_at = now() - $2::interval WHERE id = ANY($1::uuid[])",
        [row["id"] for row in rows],
        ago,
    )


async def dead_letter(conn: asyncpg.Connection, row: dict[str, Any]) -> None:
    """Put ``row`` straight into the dead letters, failed long ago."""
    await conn.execute(
        """INSERT INTO relay_dead_letters
           (id, aggregatetype, aggregateid, type, payload, tenant_id, created_at, failed_at,
            reason, attempts)
           VALUES ($1, $2, $3, $4, $5, $6, now() - interval '3 days', now() - interval '3 days',
                   'invalid: test', 1)""",
        row["id"],
        row["aggregatetype"],
        row["aggregateid"],
        row["type"],
        json.dumps(row["payload"]),
        row["tenant_id"],
    )


async def outbox_ids(conn: asyncpg.Connection) -> set[uuid.UUID]:
    return {record["id"] for record in await conn.fetch("SELECT id FROM outbox")}


def ids(rows: Sequence[dict[str, Any]]) -> set[uuid.UUID]:
    return {row["id"] for row in rows}


@pytest.fixture
async def relay_db(outbox_dsn: str, db: asyncpg.Connection) -> asyncpg.Connection:
    """The outbox database with the relay's own tables migrated."""
    await asyncio.to_thread(migrations.upgrade, outbox_dsn)
    return db


@pytest.fixture
async def pool(outbox_dsn: str) -> AsyncIterator[asyncpg.Pool]:
    created = await asyncpg.create_pool(outbox_dsn, min_size=1, max_size=2)
    try:
        yield created
    finally:
        await created.close()


async def test_only_published_rows_past_the_retention_are_purged(
    relay_db: asyncpg.Connection, pool: asyncpg.Pool
) -> None:
    clock = Clock()
    old = [order_created("acme", clock) for _ in range(5)]
    recent = [order_created("acme", clock) for _ in range(2)]
    pending = [order_created("globex", clock) for _ in range(2)]
    dead = order_created("globex", clock)
    await insert_rows(relay_db, [*old, *recent, *pending])
    await publish(relay_db, old, ago=timedelta(hours=2))
    await publish(relay_db, recent, ago=timedelta(minutes=10))
    # Pending rows as old as the purged ones: age alone must not condemn a row.
    await relay_db.execute(
        "UPDATE outbox SET created_at = now() - interval '3 days' WHERE id = ANY($1::uuid[])",
        list(ids(pending)),
    )
    await dead_letter(relay_db, dead)
    metrics = RelayMetrics.create()
    purger = OutboxPurger(
        pool=pool,
        metrics=metrics,
        retention_seconds=RETENTION_SECONDS,
        batch_size=2,  # several batches, the last one short
        interval_seconds=60,
    )

    assert await purger.purge() == len(old)

    assert await outbox_ids(relay_db) == ids(recent) | ids(pending)
    assert await relay_db.fetchval("SELECT array_agg(id) FROM relay_dead_letters") == [dead["id"]]
    assert metrics.registry.get_sample_value(PURGED_METRIC) == len(old)
    assert await purger.purge() == 0


async def test_the_purge_reads_the_published_index(relay_db: asyncpg.Connection) -> None:
    # With sequential scans priced out, the plan shows the index is usable by the purge at all
    # (its predicate implied by the purge's condition); on a big outbox it is the cheap plan.
    async with relay_db.transaction():
        await relay_db.execute("SET LOCAL enable_seqscan = off")
        plan = await relay_db.fetch("EXPLAIN " + PURGE_SQL, float(RETENTION_SECONDS), 1000)
    text = "\n".join(record[0] for record in plan)
    assert "outbox_published_idx" in text, text


@pytest.mark.parametrize("backend", ["redis"])
async def test_a_running_relay_purges_on_its_own_and_counts_it(
    pipeline: Pipeline, relay_db: asyncpg.Connection
) -> None:
    clock = Clock()
    old = [order_created("acme", clock) for _ in range(3)]
    recent = [order_created("acme", clock)]
    waiting = order_created("globex", clock)
    await insert_rows(relay_db, [*old, *recent])
    await publish(relay_db, old, ago=timedelta(hours=2))
    await publish(relay_db, recent, ago=timedelta(minutes=1))
    # A pending row whose retry is due only in an hour: the relay neither publishes nor purges it.
    async with relay_db.transaction():
        await insert_rows(relay_db, [waiting])
        await relay_db.execute(
            "INSERT INTO relay_retries (event_id, not_before, last_error) "
            "VALUES ($1, now() + interval '1 hour', 'refused')",
            waiting["id"],
        )
    relay = await pipeline.relay(
        outbox_retention_seconds=RETENTION_SECONDS,
        outbox_purge_interval_seconds=0.2,
        outbox_purge_batch_size=2,
    ).started()

    await wait_until(
        lambda: _purged(relay.metric, len(old)), "the relay purged the old published rows"
    )

    assert await outbox_ids(relay_db) == ids(recent) | {waiting["id"]}


async def _purged(metric: Any, expected: int) -> bool:
    return bool(await metric(PURGED_METRIC) == expected)
