"""Row-level security: a tenant's transaction sees and writes only that tenant's rows.

The queries here forget the tenant filter on purpose: the database, not the query, keeps
tenants apart. Chunk tables made at run time are covered as well as the migrated tables.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import asyncpg
import pytest

from tests.integration.llm.conftest import Llm, Tenants, Upstream
from tests.integration.llm.fake_openai import calls, reply
from tests.integration.llm.knowledge import ingest_demo

pytestmark = pytest.mark.integration
FIXED_TABLES = (
    "llm_documents",
    "llm_promotions",
    "llm_conversations",
    "llm_token_usage",
    "llm_outbox",
)
TENANTS = {"acme", "globex"}


@asynccontextmanager
async def _as_app(conn: asyncpg.Connection, **settings: str) -> AsyncIterator[None]:
    """A transaction as ``ragline_app`` with these transaction-local settings."""
    async with conn.transaction():
        await conn.execute("SET LOCAL ROLE ragline_app")
        for name, value in settings.items():
            await conn.execute("SELECT set_config($1, $2, true)", f"app.{name}", value)
        yield


async def _tenants_of(conn: asyncpg.Connection, table: str) -> set[str]:
    return {row["tenant_id"] for row in await conn.fetch(f"SELECT tenant_id FROM {table}")}


async def _fill_both_tenants(llm: Llm, tenants: Tenants, upstream: Upstream) -> None:
    for tenant in sorted(TENANTS):
        await ingest_demo(llm, tenants, tenant)
        upstream.fake.script(
            calls(("retrieve_menu", {"query": "spicy pizza"})), reply("The Diavola.")
        )
        response = await llm.client.post(
            "/v1/chat",
            json={"messages": [{"role": "user", "content": "Something spicy?"}]},
            headers=tenants.headers(tenant),
        )
        assert response.status_code == 200, response.text
        # Retrieval runs under row-level security and still finds the tenant's menu.
        (menu,) = response.json()["tool_calls"]
        assert menu["result"]["items"][0]["sku"] == "diavola"


async def test_a_tenant_sees_none_of_another_tenants_rows(
    llm: Llm, tenants: Tenants, upstream: Upstream, fresh_database: str
) -> None:
    await _fill_both_tenants(llm, tenants, upstream)
    tables = (*FIXED_TABLES, llm.state.store.target.name)  # the chunk table made at start-up
    conn = await asyncpg.connect(fresh_database)
    try:
        for table in tables:  # the superuser bypasses row-level security: both are there
            assert await _tenants_of(conn, table) == TENANTS, table
        async with _as_app(conn, tenant_id="acme"):
            for table in tables:
                assert await _tenants_of(conn, table) == {"acme"}, table
        # Opting into every tenant is for the tables' owner, never for the application role.
        async with _as_app(conn, tenant_id="globex", all_tenants="on"):
            for table in tables:
                assert await _tenants_of(conn, table) == {"globex"}, table
        async with _as_app(conn):  # no tenant named: no rows at all
            for table in tables:
                assert await _tenants_of(conn, table) == set(), table
    finally:
        await conn.close()


async def test_a_tenant_cannot_write_another_tenants_rows(
    llm: Llm, tenants: Tenants, upstream: Upstream, fresh_database: str
) -> None:
    await _fill_both_tenants(llm, tenants, upstream)
    conn = await asyncpg.connect(fresh_database)
    try:
        with pytest.raises(asyncpg.InsufficientPrivilegeError, match="row-level security"):
            async with _as_app(conn, tenant_id="acme"):
                await conn.execute(
                    "INSERT INTO llm_token_usage (tenant_id, day) VALUES ('globex', '2000-01-01')"
                )
        async with _as_app(conn, tenant_id="acme"):
            # Updates and deletes that forget the tenant touch only the scope's own rows.
            assert await conn.execute("UPDATE llm_conversations SET turns = 99") == "UPDATE 1"
            assert await conn.execute("DELETE FROM llm_promotions") == "DELETE 2"
        assert (
            await conn.fetchval(
                "SELECT count(*) FROM llm_conversations WHERE turns = 99 AND tenant_id = 'acme'"
            )
            == 1
        )
        assert await _tenants_of(conn, "llm_promotions") == {"globex"}
    finally:
        await conn.close()
