"""The LLM tables migrate both ways, with their own version table, beside the API's."""

from __future__ import annotations

import asyncio
import sys

import asyncpg
import pytest

from ragline_api import migrations as api_migrations
from ragline_llm import migrations

pytestmark = pytest.mark.integration
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
        assert await conn.fetchval("SELECT version_num FROM alembic_version_llm") == "llm0001"
    finally:
        await conn.close()
    await asyncio.to_thread(migrations.downgrade, fresh_database, "base")
    tables = await _tables(fresh_database)
    assert not tables & (TABLES | {"rag_chunks_test"})
    assert {"alembic_version", "orders"} <= tables  # the API's schema is untouched
