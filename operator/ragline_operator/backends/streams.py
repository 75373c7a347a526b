"""Topics and streams: make them exist as the EventStream says, or delete them.

Every listed consumer group gets a position before its first consumer joins: at the beginning,
so a backlog produced before any consumer runs counts as lag and scaling from zero works. A group
that already has a position is never moved. The notifier's group is "live" (its processes serve
new events; history is replayed on request, not by the group): on Redis it is created at the
stream's end, on Kafka it is left alone (each notifier process joins a group of its own and starts
at the end by itself; a committed position nobody advances would only show as growing lag).

Redis: the stream is created together with each consumer group (``XGROUP CREATE ... MKSTREAM``).
Kafka: the topic is created with its partitions, replication factor and ``retention.ms``; a topic
with fewer partitions than asked grows (Kafka cannot shrink one, and the CRD refuses shrinking).
Then each group commits the log-start offset of every partition it has no committed offset for.
aiokafka's admin client cannot alter group offsets, so a short-lived consumer with the group's id
and a manual assignment (it never joins the group) commits them; the broker refuses that commit
while the group has members, which is fine: they have positions of their own.

Existence is checked with a full topic listing, never with a metadata request for the one topic:
brokers with ``auto.create.topics.enable`` (the default) would create it with default settings.
"""

from __future__ import annotations

import asyncio
from dataclasses import replace
from typing import Any

import redis.asyncio as redis
from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient, NewPartitions, NewTopic
from aiokafka.errors import (
    CommitFailedError,
    KafkaError,
    TopicAlreadyExistsError,
    UnknownTopicOrPartitionError,
    for_code,
)

from ragline_operator.backends.common import (
    BackendError,
    StreamKind,
    StreamReport,
    StreamTarget,
    describe,
    scrub,
)

BUSY_GROUP = "BUSYGROUP"
REDIS_STREAM_START = "0"
# Redis has no "create an empty stream": a group made with MKSTREAM and dropped at once leaves
# the stream with no entry and no group (XADD + trim would leave an entry id in its history).
SCAFFOLD_GROUP = "ragline-operator-mkstream"
COORDINATOR_RETRY_SECONDS = 0.2


def _unreachable(target: StreamTarget, exc: BaseException) -> StreamReport:
    message = scrub(f"{target.kind.value} at {target.where}: {describe(exc)}", [target.address])
    return StreamReport(reachable=False, ready=False, reason="Unreachable", message=message)


async def ensure_redis_stream(target: StreamTarget, *, seconds: float) -> StreamReport:
    """The stream and every consumer group exist (a missing group is created where it starts)."""
    client = redis.from_url(target.address, socket_timeout=seconds, socket_connect_timeout=seconds)
    try:
        async with asyncio.timeout(seconds):
            await client.ping()
            existed = bool(await client.exists(target.name))
            have = set()
            if existed:
                have = {_text(g["name"]) for g in await client.xinfo_groups(target.name)}
            created = []
            for group in target.groups:
                if group in have:
                    continue
                try:
                    await client.xgroup_create(
                        target.name, group, id=REDIS_STREAM_START, mkstream=True
                    )
                    created.append(group)
                except redis.ResponseError as exc:
                    if BUSY_GROUP not in str(exc):  # a concurrent creator is fine
                        raise
            if not existed and not created:
                await _create_empty_stream(client, target.name)
    except (redis.RedisError, OSError, TimeoutError) as exc:
        return _unreachable(target, exc)
    finally:
        await client.aclose()
    groups = ", ".join(target.groups) or "none"
    return StreamReport(
        reachable=True,
        ready=True,
        reason="StreamReady",
        message=f"stream {target.name!r} on {target.where} with consumer groups: {groups}",
        created=not existed,
        groups_created=tuple(created),
    )


async def _create_empty_stream(client: redis.Redis, stream: str) -> None:
    try:
        await client.xgroup_create(stream, SCAFFOLD_GROUP, id=REDIS_STREAM_START, mkstream=True)
    except redis.ResponseError as exc:
        if BUSY_GROUP not in str(exc):  # a concurrent pass made it: it drops it too
            raise
    await client.xgroup_destroy(stream, SCAFFOLD_GROUP)


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


async def delete_redis_stream(target: StreamTarget, *, seconds: float) -> None:
    """Delete the stream (its groups go with it); a missing stream is fine."""
    client = redis.from_url(target.address, socket_timeout=seconds, socket_connect_timeout=seconds)
    try:
        async with asyncio.timeout(seconds):
            await client.delete(target.name)
    except (redis.RedisError, OSError, TimeoutError) as exc:
        raise BackendError(_unreachable(target, exc).message) from exc
    finally:
        await client.aclose()


async def _admin(target: StreamTarget, *, seconds: float) -> AIOKafkaAdminClient:
    admin = AIOKafkaAdminClient(
        bootstrap_servers=target.address, request_timeout_ms=int(seconds * 1000)
    )
    try:
        async with asyncio.timeout(seconds):
            await admin.start()
    except BaseException:
        await admin.close()
        raise
    return admin


def _raise_topic_errors(response: Any, *, ignore: tuple[int, ...] = ()) -> None:
    errors = getattr(response, "topic_errors", None) or getattr(response, "topic_error_codes", [])
    for item in errors:
        code = item[1]
        if code and code not in ignore:
            detail = item[2] if len(item) > 2 and item[2] else for_code(code).message
            raise for_code(code)(f"topic {item[0]}: {detail}")


async def _kafka_topic(
    admin: AIOKafkaAdminClient, target: StreamTarget
) -> tuple[StreamReport, int]:
    """Create or grow the topic; its report and its number of partitions now."""
    if target.name not in await admin.list_topics():
        configs = {"retention.ms": str(target.retention_ms)} if target.retention_ms else {}
        topic = NewTopic(
            target.name,
            num_partitions=target.partitions,
            replication_factor=target.replication_factor,
            topic_configs=configs,
        )
        response = await admin.create_topics([topic])
        _raise_topic_errors(response, ignore=(TopicAlreadyExistsError.errno,))
        return _kafka_ready(target, target.partitions, created=True), target.partitions
    (described,) = await admin.describe_topics([target.name])
    if described.get("error_code"):
        raise for_code(described["error_code"])(f"topic {target.name}")
    count = len(described.get("partitions") or [])
    if count < target.partitions:
        await admin.create_partitions({target.name: NewPartitions(total_count=target.partitions)})
        return _kafka_ready(target, target.partitions, before=count), target.partitions
    return _kafka_ready(target, count), count


async def _kafka_converge(admin: AIOKafkaAdminClient, target: StreamTarget) -> StreamReport:
    report, partitions = await _kafka_topic(admin, target)
    started = [
        group
        for group in target.groups
        if await _kafka_position(admin, target, group=group, partitions=partitions)
    ]
    return replace(report, groups_created=tuple(started))


async def _committed_partitions(admin: AIOKafkaAdminClient, *, topic: str, group: str) -> set[int]:
    """The partitions of ``topic`` that ``group`` has committed an offset for.

    A young broker has no group coordinator until it created its offsets topic; that (and any
    other retriable error) is waited out, within the caller's timeout.
    """
    while True:
        try:
            committed = await admin.list_consumer_group_offsets(group)
        except KafkaError as exc:
            if not exc.retriable:
                raise
            await asyncio.sleep(COORDINATOR_RETRY_SECONDS)
            continue
        return {
            tp.partition for tp, meta in committed.items() if tp.topic == topic and meta.offset >= 0
        }


async def _kafka_position(
    admin: AIOKafkaAdminClient, target: StreamTarget, *, group: str, partitions: int
) -> bool:
    """Commit the log start of each partition ``group`` has no offset for; True if it did."""
    have = await _committed_partitions(admin, topic=target.name, group=group)
    missing = [TopicPartition(target.name, p) for p in range(partitions) if p not in have]
    if not missing:
        return False
    consumer = AIOKafkaConsumer(
        bootstrap_servers=target.address, group_id=group, enable_auto_commit=False
    )
    try:
        await consumer.start()
        consumer.assign(missing)
        await consumer.commit(await consumer.beginning_offsets(missing))
    except CommitFailedError:
        return False  # the group has members now: where they start is theirs to decide
    finally:
        await consumer.stop()
    return True


def _kafka_ready(
    target: StreamTarget, partitions: int, *, created: bool = False, before: int | None = None
) -> StreamReport:
    groups = ", ".join(target.groups) or "none"
    return StreamReport(
        reachable=True,
        ready=True,
        reason="TopicReady",
        message=(
            f"topic {target.name!r} on {target.where} with {partitions} partitions "
            f"and consumer groups: {groups}"
        ),
        created=created,
        partitions_before=before,
    )


async def ensure_kafka_topic(target: StreamTarget, *, seconds: float) -> StreamReport:
    """The topic exists with at least the asked partitions, and every group has a position."""
    try:
        admin = await _admin(target, seconds=seconds)
    except Exception as exc:  # aiokafka raises many types for "not there"
        return _unreachable(target, exc)
    try:
        async with asyncio.timeout(seconds):
            return await _kafka_converge(admin, target)
    except Exception as exc:  # the broker answered, but refused: the topic is not ready
        message = scrub(f"topic {target.name!r}: {describe(exc)}", [target.address])
        return StreamReport(reachable=True, ready=False, reason="TopicNotReady", message=message)
    finally:
        await admin.close()


async def delete_kafka_topic(target: StreamTarget, *, seconds: float) -> None:
    """Delete the topic; a missing topic is fine."""
    try:
        admin = await _admin(target, seconds=seconds)
    except Exception as exc:
        raise BackendError(_unreachable(target, exc).message) from exc
    try:
        async with asyncio.timeout(seconds):
            if target.name in await admin.list_topics():
                response = await admin.delete_topics([target.name])
                _raise_topic_errors(response, ignore=(UnknownTopicOrPartitionError.errno,))
    except Exception as exc:
        message = scrub(f"deleting topic {target.name!r}: {describe(exc)}", [target.address])
        raise BackendError(message) from exc
    finally:
        await admin.close()


async def ensure_stream(target: StreamTarget, *, seconds: float) -> StreamReport:
    """Ensure a topic or a stream and its consumer groups, whichever the target is."""
    if target.kind is StreamKind.KAFKA:
        return await ensure_kafka_topic(target, seconds=seconds)
    return await ensure_redis_stream(target, seconds=seconds)


async def delete_stream(target: StreamTarget, *, seconds: float) -> None:
    """Delete a topic or a stream; :class:`BackendError` if the broker cannot be reached."""
    if target.kind is StreamKind.KAFKA:
        await delete_kafka_topic(target, seconds=seconds)
    else:
        await delete_redis_stream(target, seconds=seconds)
