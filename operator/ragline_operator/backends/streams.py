"""Topics and streams: make them exist as the EventStream says, or delete them.

Redis: the stream is created together with each consumer group (``XGROUP CREATE ... $
MKSTREAM``), so a group starts at the end of an existing stream instead of replaying its history
to every notifier. Kafka: the topic is created with its partitions, replication factor and
``retention.ms``; a topic with fewer partitions than asked grows (Kafka cannot shrink one, and the
CRD refuses shrinking). Kafka groups come into being when their consumers join, so there is nothing
to create for them.

Existence is checked with a full topic listing, never with a metadata request for the one topic:
brokers with ``auto.create.topics.enable`` (the default) would create it with default settings.
"""

from __future__ import annotations

import asyncio
from typing import Any

import redis.asyncio as redis
from aiokafka.admin import AIOKafkaAdminClient, NewPartitions, NewTopic
from aiokafka.errors import TopicAlreadyExistsError, UnknownTopicOrPartitionError, for_code

from ragline_operator.backends.common import (
    BackendError,
    StreamKind,
    StreamReport,
    StreamTarget,
    describe,
    scrub,
)

BUSY_GROUP = "BUSYGROUP"


def _unreachable(target: StreamTarget, exc: BaseException) -> StreamReport:
    message = scrub(f"{target.kind.value} at {target.where}: {describe(exc)}", [target.address])
    return StreamReport(reachable=False, ready=False, reason="Unreachable", message=message)


async def ensure_redis_stream(target: StreamTarget, *, seconds: float) -> StreamReport:
    """The stream and every consumer group exist (created at the stream's end if missing)."""
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
                    await client.xgroup_create(target.name, group, id="$", mkstream=True)
                    created.append(group)
                except redis.ResponseError as exc:
                    if BUSY_GROUP not in str(exc):  # a concurrent creator is fine
                        raise
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


async def _kafka_converge(admin: AIOKafkaAdminClient, target: StreamTarget) -> StreamReport:
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
        return _kafka_ready(target, target.partitions, created=True)
    (described,) = await admin.describe_topics([target.name])
    if described.get("error_code"):
        raise for_code(described["error_code"])(f"topic {target.name}")
    count = len(described.get("partitions") or [])
    if count < target.partitions:
        await admin.create_partitions({target.name: NewPartitions(total_count=target.partitions)})
        return _kafka_ready(target, target.partitions, before=count)
    return _kafka_ready(target, count)


def _kafka_ready(
    target: StreamTarget, partitions: int, *, created: bool = False, before: int | None = None
) -> StreamReport:
    return StreamReport(
        reachable=True,
        ready=True,
        reason="TopicReady",
        message=f"topic {target.name!r} on {target.where} with {partitions} partitions",
        created=created,
        partitions_before=before,
    )


async def ensure_kafka_topic(target: StreamTarget, *, seconds: float) -> StreamReport:
    """The topic exists with at least the asked partitions."""
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
    """Ensure a topic or a stream, whichever the target is."""
    if target.kind is StreamKind.KAFKA:
        return await ensure_kafka_topic(target, seconds=seconds)
    return await ensure_redis_stream(target, seconds=seconds)


async def delete_stream(target: StreamTarget, *, seconds: float) -> None:
    """Delete a topic or a stream; :class:`BackendError` if the broker cannot be reached."""
    if target.kind is StreamKind.KAFKA:
        await delete_kafka_topic(target, seconds=seconds)
    else:
        await delete_redis_stream(target, seconds=seconds)
