"""A new embedding builds a new table; the old one serves until the new one is complete."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys

import asyncpg
import pytest

from tests.integration.llm.conftest import SettingsFactory, Tenants, Upstream, start_llm
from tests.integration.llm.fake_openai import reply
from tests.integration.llm.knowledge import ingest_demo

pytestmark = pytest.mark.integration


async def _tables(dsn: str) -> dict[str, str]:
    conn = await asyncpg.connect(dsn)
    try:
        rows = await conn.fetch("SELECT table_name, status FROM llm_vector_tables")
    finally:
        await conn.close()
    return {row["table_name"]: row["status"] for row in rows}


async def test_changing_the_embedding_switches_only_when_the_new_table_is_complete(
    llm_settings: SettingsFactory, tenants: Tenants, upstream: Upstream, fresh_database: str
) -> None:
    async with start_llm(llm_settings()) as llm:
        await ingest_demo(llm, tenants, "acme")
        old = llm.state.store.target.name
    remote = llm_settings(
        embedding_provider="OpenAICompatible",
        embedding_model="fake-embed",
        embedding_dimensions=128,
        breaker_fail_max=100,
        retry_attempts=0,
    )
    upstream.fake.embedding_failures = 1_000  # the new embedding endpoint is down
    async with start_llm(remote) as llm:
        new = llm.state.store.target.name
        assert new != old
        assert llm.state.store.serving is not None
        assert llm.state.store.serving.table.name == old  # still the complete one
        assert (await _tables(fresh_database)) == {old: "ready", new: "building"}
        ready = (await llm.client.get("/readyz")).json()["index"]
        assert ready["serving"] == old
        assert ready["target"] == new
        assert ready["error"]
        # Retrieval keeps working, embedded the old table's way (locally, no endpoint needed).
        upstream.fake.script(reply("ok"))
        await llm.client.post(
            "/v1/chat",
            json={"messages": [{"role": "user", "content": "vegan salad"}]},
            headers=tenants.headers("acme"),
        )
        assert "Vegan Garden Bowl" in upstream.fake.chat_requests[-1]["messages"][0]["content"]
    upstream.fake.embedding_failures = 0
    async with start_llm(remote) as llm:
        assert llm.state.store.serving is not None
        assert llm.state.store.serving.table.name == new
        assert (await _tables(fresh_database)) == {old: "ready", new: "ready"}
        upstream.fake.script(reply("ok"))
        await llm.client.post(
            "/v1/chat",
            json={"messages": [{"role": "user", "content": "vegan salad"}]},
            headers=tenants.headers("acme"),
        )
        assert "Vegan Garden Bowl" in upstream.fake.chat_requests[-1]["messages"][0]["content"]
        assert upstream.fake.embedding_requests[-1]["model"] == "fake-embed"


async def test_the_ingestion_job_builds_the_target_and_reports_counts(
    fresh_database: str, tmp_path: object
) -> None:
    env = {
        "RAGLINE_LLM_DATABASE_URL": fresh_database,
        "RAGLINE_LLM_VECTOR_TABLE": "rag_chunks_job",
        "RAGLINE_LLM_LOG_JSON": "false",
        "RAGLINE_LLM_INGEST_SOURCES": json.dumps(
            [
                {
                    "type": "inline",
                    "name": "hours.md",
                    "text": "---\ntenant: acme\nkind: faq\n---\nOpen at 11:30.",
                }
            ]
        ),
        "PATH": "/usr/bin:/bin",
    }
    result = await asyncio.to_thread(
        subprocess.run,
        [sys.executable, "-m", "ragline_llm.ingest", "--demo", "demo"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout.strip().splitlines()[-1]) == {"documents": 14, "chunks": 14}
    assert (await _tables(fresh_database)) == {"rag_chunks_job": "ready"}
    conn = await asyncpg.connect(fresh_database)
    try:
        indexes = await conn.fetchval(
            "SELECT indexdef FROM pg_indexes"
            " WHERE tablename = 'rag_chunks_job' AND indexname LIKE '%embedding%'"
        )
    finally:
        await conn.close()
    assert "hnsw" in indexes
    assert "vector_cosine_ops" in indexes
