"""The LLM tables migrate both ways, with their own version table, beside the API's."""

from __future__ import annotations

import asyncio
import sys

import asyncpg
import pytest

from ragline_api import migrations as api_migrations
from ragline_llm import migrations

pytestmark = pytest.mark.integration
TENANT_TABLES = [
    "llm_documents",
    "llm_promotions",
    "llm_conversations",
    "llm_token_usage",
    "llm_outbox",
]
TABLES = {
    "llm_documents",
    "llm_promotions",
    "llm_vector_tables",
    "llm_conversations",
    "llm_token_usage",
    "llm_outbox",
}


async def _tables(dsn: str) -> set[str]:
    conn = await asyncpg.connect(dsn)
    try:
        rows = await conn.fetch(
            "SELECT relname FROM pg_class"
            " WHERE relkind = 'r' AND relnamespace = 'public'::regnamespace"
        )
    finally:
        await conn.close()
    return {row["relname"] for row in rows}


async def test_upgrade_and_downgrade_beside_the_api(fresh_database: str) -> None:
    await asyncio.to_thread(api_migrations.upgrade, fresh_database)
    # Two replicas starting at once (separate processes, as in a Deployment): the advisory lock
    # lets one migrate while the other waits, then finds nothing to do.
    env = {"RAGLINE_LLM_DATABASE_URL": fresh_database, "PATH": "/usr/bin:/bin"}
    command = [sys.executable, "-m", "ragline_llm", "migrate"]
    processes = [
        await asyncio.create_subprocess_exec(*command, env=env, stderr=asyncio.subprocess.PIPE)
        for _ in range(2)
    ]
    for process in processes:
        _, stderr = await asyncio.wait_for(process.communicate(), timeout=120)
        assert process.returncode == 0, stderr.decode()
    tables = await _tables(fresh_database)
    assert tables >= TABLES
    assert {"alembic_version", "alembic_version_llm", "orders"} <= tables
    conn = await asyncpg.connect(fresh_database)
    try:
        await conn.execute(
            "INSERT INTO llm_vector_tables (table_name, provider, model, dimensions, status)"
            " VALUES ('rag_chunks_test', 'Local', 'm', 3, 'ready')"
        )
        await conn.execute("CREATE TABLE rag_chunks_test (embedding vector(3))")
        assert await conn.fetchval("SELECT version_num FROM alembic_version_llm") == "llm0002"
    finally:
        await conn.close()
    await asyncio.to_thread(migrations.downgrade, fresh_database, "base")
    tables = await _tables(fresh_database)
    assert not tables & (TABLES | {"rag_chunks_test"})
    assert {"alembic_version", "orders"} <= tables  # the API's schema is untouched


async def _protection(conn: asyncpg.Connection, table: str) -> tuple[bool, bool, set[str], bool]:
    """(RLS enabled, forced, policy names, whether ragline_app may read it)."""
    row = await conn.fetchrow(
        "SELECT relrowsecurity, relforcerowsecurity,"
        " has_table_privilege('ragline_app', oid, 'SELECT') AS readable"
        " FROM pg_class WHERE oid = to_regclass($1)",
        table,
    )
    policies = await conn.fetch(
        "SELECT polname FROM pg_policy WHERE polrelid = to_regclass($1)", table
    )
    return (
        row["relrowsecurity"],
        row["relforcerowsecurity"],
        {p["polname"] for p in policies},
        row["readable"],
    )


async def test_row_level_security_migrates_up_and_down(fresh_database: str) -> None:
    await asyncio.to_thread(migrations.upgrade, fresh_database, "llm0001")
    conn = await asyncpg.connect(fresh_database)
    try:
        # A chunk table an older version made at run time, holding two tenants' chunks.
        await conn.execute(
            "INSERT INTO llm_vector_tables (table_name, provider, model, dimensions, status)"
            " VALUES ('rag_chunks_old', 'Local', 'm', 3, 'ready');"
            " CREATE TABLE rag_chunks_old (tenant_id text NOT NULL, embedding vector(3));"
            " INSERT INTO rag_chunks_old VALUES ('acme', '[1,0,0]'), ('globex', '[0,1,0]')"
        )
        tables = [*TENANT_TABLES, "rag_chunks_old"]
        for table in tables:
            assert await _protection(conn, table) == (False, False, set(), False), table

        await asyncio.to_thread(migrations.upgrade, fresh_database)
        for table in tables:
            protection = (True, True, {"tenant_isolation", "all_tenants"}, True)
            assert await _protection(conn, table) == protection, table
        assert (await _protection(conn, "llm_vector_tables"))[:3] == (False, False, set())
        async with conn.transaction():
            await conn.execute(
                "SELECT set_config('role', 'ragline_app', true),"
                " set_config('app.tenant_id', 'globex', true)"
            )
            assert await conn.fetch("SELECT tenant_id FROM rag_chunks_old") == [("globex",)]

        await asyncio.to_thread(migrations.downgrade, fresh_database, "llm0001")
        for table in tables:
            assert await _protection(conn, table) == (False, False, set(), False), table
        assert await conn.fetchval("SELECT count(*) FROM rag_chunks_old") == 2  # data kept
        # And up again: the downgrade left nothing behind that the upgrade trips over.
        await asyncio.to_thread(migrations.upgrade, fresh_database)
        assert await conn.fetchval("SELECT version_num FROM alembic_version_llm") == "llm0002"
        assert (await _protection(conn, "rag_chunks_old"))[:2] == (True, True)
    finally:
        await conn.close()
    await asyncio.to_thread(migrations.downgrade, fresh_database, "base")
    assert not await _tables(fresh_database) & (TABLES | {"rag_chunks_old"})
