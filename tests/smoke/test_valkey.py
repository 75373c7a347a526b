"""The Redis-compatible server has Streams, consumer groups and group lag."""

import uuid
from typing import Any

import pytest
import redis.asyncio as redis

pytestmark = [pytest.mark.smoke, pytest.mark.integration]


async def test_xadd_xreadgroup_and_group_lag(redis_url: str) -> None:
    client = redis.from_url(redis_url, decode_responses=True)
    stream = f"smoke-{uuid.uuid4().hex}"
    try:
        await client.xgroup_create(stream, "notifier", id="0", mkstream=True)
        ids = [await client.xadd(stream, {"n": str(n)}) for n in range(5)]

        # redis-py types stream replies loosely; the shape is [[stream, [(id, fields), ...]]].
        batch: Any = await client.xreadgroup("notifier", "c1", {stream: ">"}, count=2)
        delivered = batch[0][1]
        assert [entry_id for entry_id, _ in delivered] == ids[:2]
        assert [fields["n"] for _, fields in delivered] == ["0", "1"]
        await client.xack(stream, "notifier", *ids[:2])

        groups = await client.xinfo_groups(stream)
        assert len(groups) == 1
        assert groups[0]["name"] == "notifier"
        assert groups[0]["lag"] == 3
        assert groups[0]["pending"] == 0
    finally:
        await client.delete(stream)
        await client.aclose()
