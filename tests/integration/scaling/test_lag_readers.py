"""Lag readers against a real Valkey and a real Kafka."""

import uuid
from collections.abc import AsyncIterator
from typing import Any

import pytest
import redis.asyncio as redis
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.structs import OffsetAndMetadata

from ragline_dev import procs
from ragline_operator.scaling.lag import (
    KafkaLagReader,
    LagReadError,
    RedisLagReader,
    Uncommitted,
)

pytestmark = pytest.mark.integration


@pytest.fixture
async def valkey(redis_url: str) -> AsyncIterator[redis.Redis]:
    client = redis.from_url(redis_url, decode_responses=True)
    yield client
    await client.aclose()


async def test_redis_lag_is_undelivered_plus_pending(valkey: redis.Redis, redis_url: str) -> None:
    stream = f"orders-{uuid.uuid4().hex}"
    await valkey.xgroup_create(stream, "notifier", id="0", mkstream=True)
    for n in range(10):
        await valkey.xadd(stream, {"n": str(n)})
    reader = RedisLagReader.from_url(redis_url)
    try:
        assert (await reader.read(stream=stream, group="notifier")).total == 10

        # redis-py types stream replies loosely; the shape is [[stream, [(id, fields), ...]]].
        delivered: Any = await valkey.xreadgroup("notifier", "c1", {stream: ">"}, count=3)
        ids = [entry_id for entry_id, _ in delivered[0][1]]
        reading = await reader.read(stream=stream, group="notifier")
        assert reading.total == 10  # 7 undelivered + 3 pending
        assert reading.partition_count == 1

        await valkey.xack(stream, "notifier", *ids)
        assert (await reader.read(stream=stream, group="notifier")).total == 7
    finally:
        await reader.close()


async def test_redis_missing_stream_and_group_are_created_or_reported(redis_url: str) -> None:
    stream = f"missing-{uuid.uuid4().hex}"
    strict = RedisLagReader.from_url(redis_url, create_missing=False)
    creating = RedisLagReader.from_url(redis_url)
    try:
        with pytest.raises(LagReadError, match="does not exist"):
            await strict.read(stream=stream, group="billing")
        assert (await creating.read(stream=stream, group="billing")).total == 0
        # Created: the strict reader now finds it.
        assert (await strict.read(stream=stream, group="billing")).total == 0
    finally:
        await strict.close()
        await creating.close()


async def test_redis_unreachable_is_a_read_error() -> None:
    reader = RedisLagReader.from_url(f"redis://127.0.0.1:{procs.free_port()}/0")
    try:
        with pytest.raises(LagReadError, match="Redis"):
            await reader.read(stream="orders", group="notifier")
    finally:
        await reader.close()


async def produce(bootstrap: str, topic: str, per_partition: dict[int, int]) -> None:
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all")
    await producer.start()
    try:
        for partition, count in per_partition.items():
            for n in range(count):
                await producer.send(topic, f"{n}".encode(), partition=partition)
        await producer.flush()
    finally:
        await producer.stop()


async def test_kafka_lag_per_partition_with_committed_and_uncommitted_partitions(
    kafka_bootstrap: str,
) -> None:
    topic = f"orders-{uuid.uuid4().hex}"
    admin = AIOKafkaAdminClient(bootstrap_servers=kafka_bootstrap)
    await admin.start()
    try:
        await admin.create_topics([NewTopic(topic, num_partitions=3, replication_factor=1)])
    finally:
        await admin.close()
    await produce(kafka_bootstrap, topic, {0: 5, 1: 4, 2: 0})

    # The group commits offset 2 on partition 0 and nothing elsewhere.
    committer = AIOKafkaConsumer(
        bootstrap_servers=kafka_bootstrap, group_id="billing", enable_auto_commit=False
    )
    await committer.start()
    try:
        committer.assign([TopicPartition(topic, 0)])
        await committer.commit({TopicPartition(topic, 0): OffsetAndMetadata(2, "")})
    finally:
        await committer.stop()

    earliest = await KafkaLagReader.connect(kafka_bootstrap)
    latest = await KafkaLagReader.connect(kafka_bootstrap, uncommitted=Uncommitted.LATEST)
    try:
        reading = await earliest.read(stream=topic, group="billing")
        assert reading.partition_count == 3
        assert {n: p.lag for n, p in reading.partitions.items()} == {"0": 3, "1": 4, "2": 0}
        assert reading.partitions["0"].position == 2
        assert reading.partitions["1"].position is None

        reading = await latest.read(stream=topic, group="billing")
        assert {n: p.lag for n, p in reading.partitions.items()} == {"0": 3, "1": 0, "2": 0}

    finally:
        await earliest.close()
        await latest.close()


async def test_kafka_missing_topic_is_reported_and_not_created(kafka_bootstrap: str) -> None:
    # The test broker runs with auto.create.topics.enable=true, like Kafka's default: a metadata
    # request naming the topic would create it.
    topic = f"absent-{uuid.uuid4().hex}"
    reader = await KafkaLagReader.connect(kafka_bootstrap)
    try:
        for _ in range(2):  # a second read must not find a topic the first one created
            with pytest.raises(LagReadError, match="does not exist"):
                await reader.read(stream=topic, group="billing")
    finally:
        await reader.close()
    admin = AIOKafkaAdminClient(bootstrap_servers=kafka_bootstrap)
    await admin.start()
    try:
        assert topic not in await admin.list_topics()
    finally:
        await admin.close()


async def test_kafka_unreachable_is_a_read_error() -> None:
    with pytest.raises(LagReadError, match="unreachable"):
        await KafkaLagReader.connect(f"127.0.0.1:{procs.free_port()}")
