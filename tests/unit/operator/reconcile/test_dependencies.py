"""Broker, stream, database and LLM conditions, and the stream a spec asks for."""

from __future__ import annotations

from ragline_operator.backends.common import ProbeResult, StreamKind, StreamReport
from ragline_operator.models import EventStreamSpec
from ragline_operator.reconcile.dependencies import (
    broker_observations,
    database_observation,
    llm_observation,
    stream_announcements,
    stream_target,
)
from tests.unit.operator.samples import kafka_stream_spec, redis_stream_spec

BILLING = {"group": "billing", "workloadRef": {"name": "billing-worker"}}


def test_a_kafka_spec_asks_for_its_topic_partitions_and_retention() -> None:
    spec = EventStreamSpec.model_validate(kafka_stream_spec(consumers=[BILLING]))

    target = stream_target(spec, "kafka:9092")

    assert (target.kind, target.name, target.partitions) == (StreamKind.KAFKA, "orders", 6)
    assert target.retention_ms == 7 * 86_400_000
    # Each notifier process reads through a group of its own: no shared "notifier" group.
    assert target.groups == ("billing",)


def test_a_redis_spec_asks_for_its_stream_and_every_listed_group_but_the_notifiers() -> None:
    consumers = [{"group": "notifier"}, BILLING]
    spec = EventStreamSpec.model_validate(redis_stream_spec(consumers=consumers))

    target = stream_target(spec, "redis://cache:6379/0")

    assert (target.kind, target.name, target.groups) == (
        StreamKind.REDIS,
        "orders",
        ("billing",),
    )


def test_an_unreachable_broker_is_a_failure_and_the_stream_unknown() -> None:
    broker, stream = broker_observations(
        StreamReport(False, False, "Unreachable", "Redis at redis://c:1/0: refused")
    )

    assert (broker.status.value, broker.reason, broker.failure) == ("False", "Unreachable", True)
    assert "refused" in broker.message
    assert (stream.status.value, stream.reason) == ("Unknown", "BrokerUnreachable")


def test_a_refused_topic_is_a_stream_failure_on_a_reachable_broker() -> None:
    broker, stream = broker_observations(StreamReport(True, False, "TopicNotReady", "denied"))

    assert broker.is_true
    assert (stream.status.value, stream.reason, stream.failure) == ("False", "TopicNotReady", True)


def test_creations_are_announced_once_with_what_was_made() -> None:
    spec = EventStreamSpec.model_validate(kafka_stream_spec())
    target = stream_target(spec, "kafka:9092")

    created = stream_announcements(StreamReport(True, True, "TopicReady", "", created=True), target)
    grown = stream_announcements(
        StreamReport(True, True, "TopicReady", "", partitions_before=3), target
    )
    nothing = stream_announcements(StreamReport(True, True, "TopicReady", ""), target)

    assert created == [("TopicCreated", "created topic 'orders'")]
    assert grown == [("PartitionsAdded", "topic 'orders': 3 → 6")]
    assert nothing == []


def test_new_groups_on_an_existing_stream_are_announced() -> None:
    spec = EventStreamSpec.model_validate(redis_stream_spec(consumers=[BILLING]))
    target = stream_target(spec, "redis://c:6379/0")
    report = StreamReport(True, True, "StreamReady", "", groups_created=("billing",))

    assert stream_announcements(report, target) == [
        ("ConsumerGroupCreated", "stream 'orders': billing")
    ]


def test_groups_given_a_position_on_an_existing_topic_are_announced() -> None:
    spec = EventStreamSpec.model_validate(kafka_stream_spec(consumers=[BILLING]))
    target = stream_target(spec, "kafka:9092")
    report = StreamReport(True, True, "TopicReady", "", groups_created=("billing",))

    assert stream_announcements(report, target) == [
        ("ConsumerGroupCreated", "topic 'orders': billing")
    ]


def test_database_and_llm_probes_become_conditions() -> None:
    down = ProbeResult(ok=False, reason="PgvectorUnavailable", message="no pgvector")

    database = database_observation(down)
    llm = llm_observation(ProbeResult(ok=False, reason="Unauthorized", message="refused key"))

    assert (database.type, database.reason, database.failure) == (
        "DatabaseReady",
        "PgvectorUnavailable",
        True,
    )
    assert (llm.type, llm.reason, llm.failure) == ("LLMReachable", "Unauthorized", True)
    assert llm_observation(None).reason == "NotConfigured"
    assert llm_observation(None).is_true
