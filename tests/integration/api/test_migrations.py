"""Alembic migrations run both ways on a real, fresh PostgreSQL database."""

from __future__ import annotations

import asyncio

import asyncpg
import pytest

from ragline_api import migrations

pytestmark = pytest.mark.integration

TABLES = {"products", "orders", "idempotency_keys", "outbox"}


async def _tables(dsn: str) -> dict[str, bool]:
    conn = await asyncpg.connect(dsn)
    try:
        rows = await conn.fetch(
            "SELECT relname, relrowsecurity FROM pg_class "
            "WHERE relkind = 'r' AND relnamespace = 'public'::regnamespace"
        )
    finally:
        await conn.close()
    return {row["relname"]: row["relrowsecurity"] for row in rows}


async def test_upgrade_creates_tenant_tables_with_row_level_security(fresh_database: str) -> None:
    await asyncio.to_thread(migrations.upgrade, fresh_database)
    tables = await _tables(fresh_database)
    assert set(tables) >= TABLES
    assert all(tables[name] for name in TABLES), tables


async def test_downgrade_removes_everything_and_upgrade_runs_again(fresh_database: str) -> None:
    await asyncio.to_thread(migrations.upgrade, fresh_database)
    await asyncio.to_thread(migrations.downgrade, fresh_database, "base")
    assert not TABLES & set(await _tables(fresh_database))
    await asyncio.to_thread(migrations.upgrade, fresh_database)
    assert set(await _tables(fresh_database)) >= TABLES
    conn = await asyncpg.connect(fresh_database)
    try:
        assert await conn.fetchval("SELECT version_num FROM alembic_version") == "0001"
    finally:
        await conn.close()
