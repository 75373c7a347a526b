"""The relay's tables have their own migration history beside the API's, in the same database."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys

import asyncpg
import pytest

from ragline_api import migrations as api_migrations
from ragline_relay import migrations

pytestmark = pytest.mark.integration

TABLES_SQL = "SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY tablename"


async def tables(dsn: str) -> set[str]:
    conn = await asyncpg.connect(dsn)
    try:
        return {row["tablename"] for row in await conn.fetch(TABLES_SQL)}
    finally:
        await conn.close()


async def test_relay_migrations_live_beside_the_apis_and_come_and_go_alone(
    fresh_database: str,
) -> None:
    await asyncio.to_thread(api_migrations.upgrade, fresh_database)
    api_tables = await tables(fresh_database)
    # Two relays starting together both migrate; the advisory lock makes that harmless.
    env = {**os.environ, "RAGLINE_RELAY_DATABASE_URL": fresh_database}
    runs = [
        await asyncio.create_subprocess_exec(
            sys.executable, "-m", "ragline_relay", "migrate", env=env, stderr=subprocess.PIPE
        )
        for _ in range(2)
    ]
    async with asyncio.timeout(120):
        for run in runs:
            _, stderr = await run.communicate()
            assert run.returncode == 0, stderr.decode()
    after = await tables(fresh_database)
    assert after - api_tables == {"relay_dead_letters", "relay_retries", "alembic_version_relay"}
    conn = await asyncpg.connect(fresh_database)
    try:
        assert await conn.fetchval("SELECT version_num FROM alembic_version_relay") == "relay_0001"
        assert await conn.fetchval("SELECT count(*) FROM alembic_version") == 1
    finally:
        await conn.close()
    await asyncio.to_thread(migrations.downgrade, fresh_database)
    assert await tables(fresh_database) == api_tables | {"alembic_version_relay"}
