"""The relay's pool is ready for its loops before the first event arrives."""

from __future__ import annotations

import asyncio

import pytest

from ragline_relay import migrations
from ragline_relay.app import open_pool
from ragline_relay.settings import RelaySettings

pytestmark = pytest.mark.integration

PREPARED_CLAIMS_SQL = (
    "SELECT count(*) FROM pg_prepared_statements WHERE position($1 in statement) > 0"
)


async def test_every_loop_has_an_open_connection_with_its_statements_prepared(
    outbox_dsn: str,
) -> None:
    await asyncio.to_thread(migrations.upgrade, outbox_dsn)
    settings = RelaySettings(database_url=outbox_dsn, workers=3)
    pool = await open_pool(settings)
    try:
        assert pool.get_size() == settings.workers
        connections = [await pool.acquire() for _ in range(settings.workers)]
        try:
            for conn in connections:
                assert await conn.fetchval(PREPARED_CLAIMS_SQL, "SKIP LOCKED") == 1
                assert await conn.fetchval(PREPARED_CLAIMS_SQL, "SET published_at") == 1
        finally:
            for conn in connections:
                await pool.release(conn)
        assert pool.get_size() == settings.workers  # none had to be opened on demand
    finally:
        await pool.close()


async def test_the_pool_opens_before_the_outbox_exists(fresh_database: str) -> None:
    pool = await open_pool(RelaySettings(database_url=fresh_database, workers=2))
    try:
        async with pool.acquire() as conn:
            assert await conn.fetchval("SELECT 1") == 1
    finally:
        await pool.close()
