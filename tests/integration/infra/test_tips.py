"""The commands ``ragline up`` suggests for PostgreSQL and Valkey run as printed."""

import subprocess

import pytest
import redis

from ragline_api import migrations as api_migrations
from ragline_dev.cli import _try_next
from ragline_dev.infra.base import PartState
from ragline_dev.infra.stack import PartStatus
from ragline_dev.paths import REPO_ROOT
from ragline_dev.platform import STREAM

pytestmark = pytest.mark.integration


def part(name: str, **endpoints: str) -> PartStatus:
    state = PartState(name=name, pids=[], endpoints=endpoints, logs=[])
    return PartStatus(name=name, running=True, healthy=True, state=state)


def test_the_database_and_stream_tips_run_against_the_real_servers(
    fresh_database: str, redis_url: str
) -> None:
    api_migrations.upgrade(fresh_database)
    client = redis.Redis.from_url(redis_url)
    client.xadd(STREAM, {"id": "e-1", "tenant": "demo"})
    try:
        text = _try_next(
            [part("postgres", dsn=fresh_database), part("valkey", url=redis_url)], REPO_ROOT
        )
        commands = [line.strip() for line in text.splitlines() if "psql" in line or "redis" in line]
        assert len(commands) == 2, text

        results = [
            subprocess.run(
                command,
                shell=True,  # as a user pastes it
                cwd=REPO_ROOT,
                capture_output=True,
                text=True,
                timeout=60,
                check=False,
            )
            for command in commands
        ]
    finally:
        client.delete(STREAM)
        client.close()

    for result in results:
        assert result.returncode == 0, result.stderr
    psql, stream = (r.stdout for r in results)
    assert "published_at" in psql  # the outbox's columns: the query reached the migrated table
    assert "'entries-added': 1" in stream
