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
        assert await conn.fetchval("SELECT version_num FROM alembic_version") == "0003"
    finally:
        await conn.close()


async def _indexes(dsn: str) -> set[str]:
    conn = await asyncpg.connect(dsn)
    try:
        rows = await conn.fetch("SELECT indexname FROM pg_indexes WHERE schemaname = 'public'")
    finally:
        await conn.close()
    return {row["indexname"] for row in rows}


RETENTION_INDEXES = {"idempotency_keys_created_idx", "outbox_published_idx"}


async def test_retention_indexes_come_and_go_one_revision_at_a_time(fresh_database: str) -> None:
    await asyncio.to_thread(migrations.upgrade, fresh_database)
    assert await _indexes(fresh_database) >= RETENTION_INDEXES
    await asyncio.to_thread(migrations.downgrade, fresh_database, "0002")
    indexes = await _indexes(fresh_database)
    assert "outbox_published_idx" not in indexes
    assert "idempotency_keys_created_idx" in indexes
    await asyncio.to_thread(migrations.downgrade, fresh_database, "0001")
    assert not RETENTION_INDEXES & await _indexes(fresh_database)
    await asyncio.to_thread(migrations.upgrade, fresh_database)
    assert await _indexes(fresh_database) >= RETENTION_INDEXES
