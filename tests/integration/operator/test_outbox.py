"""Reading an EventStream's outbox backlog from a real, migrated PostgreSQL."""

import asyncio
import uuid

import asyncpg
import pytest

from ragline_api import migrations as api_migrations
from ragline_operator.backends.outbox import read_outbox
from ragline_relay import migrations as relay_migrations

pytestmark = pytest.mark.integration

SECONDS = 10.0
OLDEST_S = 90.0
INSERT = """
INSERT INTO outbox (id, aggregatetype, aggregateid, type, payload, tenant_id, created_at,
                    published_at)
VALUES ($1, 'order', $2, 'order.created.v1', '{}'::jsonb, 'acme', now() - make_interval(secs => $3),
        CASE WHEN $4 THEN now() END)
"""
DEAD = """
INSERT INTO relay_dead_letters
  (id, aggregatetype, aggregateid, type, payload, tenant_id, created_at, reason, attempts)
VALUES ($1, 'order', 'o-1', 'order.created.v1', '{}'::jsonb, 'acme', now(), 'invalid: x', 1)
"""


async def test_a_fresh_database_reads_as_not_migrated(fresh_database: str) -> None:
    reading = await read_outbox(fresh_database, seconds=SECONDS)

    assert (reading.readable, reading.reason) == (False, "NotMigrated")
    assert reading.status() is None


async def test_pending_rows_their_oldest_age_and_dead_letters(fresh_database: str) -> None:
    await asyncio.to_thread(api_migrations.upgrade, fresh_database)
    conn = await asyncpg.connect(fresh_database)
    try:
        # Published rows do not count; the oldest pending one is 90 s old.
        for age, published in ((300.0, True), (OLDEST_S, False), (5.0, False), (1.0, False)):
            await conn.execute(INSERT, uuid.uuid4(), f"o-{age}", age, published)

        before_relay = await read_outbox(fresh_database, seconds=SECONDS)

        await asyncio.to_thread(relay_migrations.upgrade, fresh_database)
        await conn.execute(DEAD, uuid.uuid4())
        after_relay = await read_outbox(fresh_database, seconds=SECONDS)

        await conn.execute("UPDATE outbox SET published_at = now()")
        drained = await read_outbox(fresh_database, seconds=SECONDS)
    finally:
        await conn.close()

    # The relay's table appears with its own migrations: until then no dead-letter figure.
    assert (before_relay.pending, before_relay.dead_letters) == (3, None)
    assert (after_relay.pending, after_relay.dead_letters) == (3, 1)
    # The oldest pending row is 90 s old plus however long the test took to read it.
    for reading in (before_relay, after_relay):
        assert reading.oldest_pending_seconds is not None
        assert OLDEST_S <= reading.oldest_pending_seconds <= OLDEST_S + SECONDS
    assert drained.status() == {"pending": 0, "oldestPendingSeconds": None, "deadLetters": 1}


async def test_an_unreachable_database_is_reported_without_its_password(
    fresh_database: str,
) -> None:
    wrong = fresh_database.replace("postgres@", "postgres:s3cret-pass@", 1)
    wrong = wrong.rsplit("/", 1)[0] + "/no_such_database"

    reading = await read_outbox(wrong, seconds=SECONDS)

    assert (reading.readable, reading.reason) == (False, "Unreachable")
    assert "no_such_database" in reading.message
    assert "s3cret-pass" not in reading.message
