"""PostgreSQL from the embedded wheel is a real server with a working pgvector."""

import asyncpg
import pytest

pytestmark = [pytest.mark.smoke, pytest.mark.integration]


async def test_pgvector_orders_by_distance_through_an_hnsw_index(fresh_database: str) -> None:
    conn = await asyncpg.connect(fresh_database)
    try:
        version = await conn.fetchval("SHOW server_version")
        assert version.startswith("18.")
        extension = await conn.fetchval(
            "SELECT extversion FROM pg_extension WHERE extname = 'vector'"
        )
        assert extension.startswith("0.8")

        await conn.execute("CREATE TABLE items (id int PRIMARY KEY, embedding vector(3))")
        await conn.execute("CREATE INDEX ON items USING hnsw (embedding vector_l2_ops)")
        await conn.executemany(
            "INSERT INTO items VALUES ($1, $2::vector)",
            [(1, "[1,2,3]"), (2, "[10,10,10]"), (3, "[1,2,4]")],
        )
        rows = await conn.fetch(
            "SELECT id, embedding <-> '[1,2,3]'::vector AS distance FROM items ORDER BY 2 LIMIT 2"
        )
        assert [r["id"] for r in rows] == [1, 3]
        assert [r["distance"] for r in rows] == [0.0, 1.0]
        cosine = await conn.fetchval("SELECT '[1,0]'::vector <=> '[0,1]'::vector")
        assert cosine == pytest.approx(1.0)
    finally:
        await conn.close()
