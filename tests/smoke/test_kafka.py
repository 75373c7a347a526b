"""Kafka from Maven Central jars is a real KRaft broker: produce, consume, commit."""

import uuid

import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.structs import ConsumerRecord

pytestmark = [pytest.mark.smoke, pytest.mark.integration]


async def test_produce_consume_and_committed_offset(kafka_bootstrap: str) -> None:
    topic = f"smoke-{uuid.uuid4().hex}"
    producer = AIOKafkaProducer(
        bootstrap_servers=kafka_bootstrap, acks="all", enable_idempotence=True
    )
    await producer.start()
    try:
        for n in range(3):
            await producer.send_and_wait(topic, f"event-{n}".encode(), key=b"order-1")
    finally:
        await producer.stop()

    consumer = AIOKafkaConsumer(
        topic,
        bootstrap_servers=kafka_bootstrap,
        group_id="smoke",
        auto_offset_reset="earliest",
        enable_auto_commit=False,
    )
    await consumer.start()
    try:
        received: list[ConsumerRecord[bytes, bytes]] = []
        while len(received) < 3:
            batch = await consumer.getmany(timeout_ms=10_000, max_records=10)
            assert batch, "no message arrived within 10 s"
            for records in batch.values():
                received.extend(records)
        assert [r.value for r in received] == [b"event-0", b"event-1", b"event-2"]
        assert {r.key for r in received} == {b"order-1"}
        await consumer.commit()
        committed = await consumer.committed(TopicPartition(topic, 0))
        assert committed == 3
    finally:
        await consumer.stop()
