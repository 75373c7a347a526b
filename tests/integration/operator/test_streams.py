"""Ensuring topics, streams and their consumer groups against a real Kafka and a real Valkey."""

import uuid
from collections.abc import AsyncIterator

import pytest
import redis.asyncio as redis
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient, RecordsToDelete

from ragline_operator.backends.common import StreamKind, StreamTarget
from ragline_operator.backends.streams import ensure_stream

pytestmark = pytest.mark.integration

SECONDS = 30.0
PARTITIONS = 2
RECORDS_PER_PARTITION = 5
TRIMMED = 2  # records deleted from the front of each partition: the log start moves past 0


@pytest.fixture
async def admin(kafka_bootstrap: str) -> AsyncIterator[AIOKafkaAdminClient]:
    client = AIOKafkaAdminClient(bootstrap_servers=kafka_bootstrap)
    await client.start()
    yield client
    await client.close()


def kafka(
    bootstrap: str,
    topic: str,
    *,
    partitions: int = PARTITIONS,
    groups: tuple[str, ...] = (),
) -> StreamTarget:
    return StreamTarget(
        kind=StreamKind.KAFKA,
        address=bootstrap,
        name=topic,
        partitions=partitions,
        groups=groups,
    )


async def produce(bootstrap: str, topic: str, *, partitions: int = PARTITIONS) -> None:
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap)
    await producer.start()
    try:
        for partition in range(partitions):
            for n in range(RECORDS_PER_PARTITION):
                await producer.send_and_wait(topic, str(n).encode(), partition=partition)
    finally:
        await producer.stop()


async def produce_and_trim(bootstrap: str, admin: AIOKafkaAdminClient, topic: str) -> None:
    await produce(bootstrap, topic)
    trim = {TopicPartition(topic, p): RecordsToDelete(TRIMMED) for p in range(PARTITIONS)}
    await admin.delete_records(trim)


async def committed(admin: AIOKafkaAdminClient, group: str, topic: str) -> dict[int, int]:
    offsets = await admin.list_consumer_group_offsets(group)
    return {tp.partition: meta.offset for tp, meta in offsets.items() if tp.topic == topic}


async def test_kafka_groups_start_at_the_log_start(
    kafka_bootstrap: str, admin: AIOKafkaAdminClient
) -> None:
    topic = f"orders-{uuid.uuid4().hex}"
    billing = f"billing-{uuid.uuid4().hex}"
    created = await ensure_stream(kafka(kafka_bootstrap, topic), seconds=SECONDS)
    assert created.ready, created.message
    assert created.created
    # A backlog is produced (and its oldest records expire) before any consumer has joined.
    await produce_and_trim(kafka_bootstrap, admin, topic)

    report = await ensure_stream(kafka(kafka_bootstrap, topic, groups=(billing,)), seconds=SECONDS)

    assert report.ready, report.message
    assert report.groups_created == (billing,)
    assert billing in {group for group, *_ in await admin.list_consumer_groups()}
    # What is still retained of the backlog is billing's lag.
    assert await committed(admin, billing, topic) == dict.fromkeys(range(PARTITIONS), TRIMMED)


async def test_a_second_ensure_never_rewinds_a_group_that_consumed(
    kafka_bootstrap: str, admin: AIOKafkaAdminClient
) -> None:
    topic = f"orders-{uuid.uuid4().hex}"
    billing = f"billing-{uuid.uuid4().hex}"
    target = kafka(kafka_bootstrap, topic, groups=(billing,))
    assert (await ensure_stream(kafka(kafka_bootstrap, topic), seconds=SECONDS)).ready
    await produce_and_trim(kafka_bootstrap, admin, topic)
    assert (await ensure_stream(target, seconds=SECONDS)).groups_created == (billing,)
    assert await committed(admin, billing, topic) == dict.fromkeys(range(PARTITIONS), TRIMMED)
    consumer = AIOKafkaConsumer(
        topic, bootstrap_servers=kafka_bootstrap, group_id=billing, enable_auto_commit=False
    )
    await consumer.start()
    try:
        read = 0
        while read < PARTITIONS * (RECORDS_PER_PARTITION - TRIMMED):
            batch = await consumer.getmany(timeout_ms=1000)
            read += sum(len(records) for records in batch.values())
        await consumer.commit()
    finally:
        await consumer.stop()
    consumed = await committed(admin, billing, topic)
    assert consumed == dict.fromkeys(range(PARTITIONS), RECORDS_PER_PARTITION)

    again = await ensure_stream(target, seconds=SECONDS)

    assert again.ready
    assert again.groups_created == ()
    assert await committed(admin, billing, topic) == consumed


async def test_a_grown_topic_gives_groups_a_position_on_the_new_partitions_only(
    kafka_bootstrap: str, admin: AIOKafkaAdminClient
) -> None:
    topic = f"orders-{uuid.uuid4().hex}"
    billing = f"billing-{uuid.uuid4().hex}"
    small = kafka(kafka_bootstrap, topic, partitions=1, groups=(billing,))
    assert (await ensure_stream(small, seconds=SECONDS)).groups_created == (billing,)
    await produce(kafka_bootstrap, topic, partitions=1)
    # billing has read what partition 0 holds (with an explicit commit, like any consumer).
    consumer = AIOKafkaConsumer(bootstrap_servers=kafka_bootstrap, group_id=billing)
    await consumer.start()
    try:
        consumer.assign([TopicPartition(topic, 0)])
        await consumer.commit({TopicPartition(topic, 0): RECORDS_PER_PARTITION})
    finally:
        await consumer.stop()

    report = await ensure_stream(
        kafka(kafka_bootstrap, topic, partitions=3, groups=(billing,)), seconds=SECONDS
    )

    assert report.ready
    assert report.partitions_before == 1
    assert report.groups_created == (billing,)
    assert await committed(admin, billing, topic) == {0: RECORDS_PER_PARTITION, 1: 0, 2: 0}


async def test_redis_groups_start_at_the_beginning(redis_url: str) -> None:
    stream = f"orders-{uuid.uuid4().hex}"
    client = redis.from_url(redis_url, decode_responses=True)
    try:
        for n in range(RECORDS_PER_PARTITION):
            await client.xadd(stream, {"n": str(n)})
        target = StreamTarget(
            kind=StreamKind.REDIS, address=redis_url, name=stream, groups=("billing", "audit")
        )

        report = await ensure_stream(target, seconds=SECONDS)

        assert report.ready
        assert report.groups_created == ("billing", "audit")
        lag = {g["name"]: g["lag"] for g in await client.xinfo_groups(stream)}
        assert lag == {"billing": RECORDS_PER_PARTITION, "audit": RECORDS_PER_PARTITION}
    finally:
        await client.delete(stream)
        await client.aclose()


async def test_a_redis_stream_without_listed_groups_is_created_empty_and_groupless(
    redis_url: str,
) -> None:
    stream = f"orders-{uuid.uuid4().hex}"
    client = redis.from_url(redis_url, decode_responses=True)
    target = StreamTarget(kind=StreamKind.REDIS, address=redis_url, name=stream)
    try:
        report = await ensure_stream(target, seconds=SECONDS)
        again = await ensure_stream(target, seconds=SECONDS)

        assert (report.ready, report.created, again.created) == (True, True, False)
        info = await client.xinfo_stream(stream)
        # Nothing in it, nothing ever added, and no group that nobody reads.
        assert (info["length"], info["entries-added"], info["groups"]) == (0, 0, 0)
    finally:
        await client.delete(stream)
        await client.aclose()


async def test_a_group_whose_consumers_already_run_is_left_to_them(
    kafka_bootstrap: str, admin: AIOKafkaAdminClient
) -> None:
    topic = f"orders-{uuid.uuid4().hex}"
    billing = f"billing-{uuid.uuid4().hex}"
    assert (await ensure_stream(kafka(kafka_bootstrap, topic), seconds=SECONDS)).ready
    await produce(kafka_bootstrap, topic)
    member = AIOKafkaConsumer(
        topic,
        bootstrap_servers=kafka_bootstrap,
        group_id=billing,
        enable_auto_commit=False,
        auto_offset_reset="latest",
    )
    await member.start()  # joined, with partitions assigned, nothing committed yet
    try:
        report = await ensure_stream(
            kafka(kafka_bootstrap, topic, groups=(billing,)), seconds=SECONDS
        )

        assert report.ready, report.message
        assert report.groups_created == ()
        assert await committed(admin, billing, topic) == {}
    finally:
        await member.stop()
