"""Conditions about what lives outside Kubernetes: the broker, the stream, PostgreSQL, the LLM.

``BrokerReachable`` and ``StreamReady`` (EventStream) and ``DatabaseReady`` (RagPipeline) are
required for Ready: without them the workloads cannot do their job. ``LLMReachable`` is not: the
API and retrieval keep working while a model provider is down (the chat service's circuit breaker
answers for it), so an unreachable LLM sets ``Degraded`` rather than taking the pipeline down.
"""

from __future__ import annotations

from ragline_operator.backends.common import ProbeResult, StreamKind, StreamReport, StreamTarget
from ragline_operator.models import BUILTIN_CONSUMER_GROUP, BackendType, EventStreamSpec
from ragline_operator.models.base import parse_duration
from ragline_operator.reconcile.conditions import Observation, false, true, unknown

BROKER_REACHABLE = "BrokerReachable"
STREAM_READY = "StreamReady"
DATABASE_READY = "DatabaseReady"
LLM_REACHABLE = "LLMReachable"


def stream_target(spec: EventStreamSpec, address: str) -> StreamTarget:
    """The topic or stream the spec asks for, at ``address`` (the Secret's value).

    Its groups are the listed consumers' groups. The built-in ``notifier`` is not one: every
    notifier process reads through a group of its own (each must see every event), which it
    makes itself at the stream's end; a shared ``notifier`` group would be read by nobody, and
    Redis monitoring would report its lag growing for ever.
    """
    listed = (c.group for c in spec.consumers if c.group != BUILTIN_CONSUMER_GROUP)
    groups = tuple(dict.fromkeys(listed))
    backend = spec.backend
    if backend.type is BackendType.KAFKA and backend.kafka is not None:
        kafka = backend.kafka
        return StreamTarget(
            kind=StreamKind.KAFKA,
            address=address,
            name=kafka.topic,
            partitions=kafka.partitions,
            replication_factor=kafka.replication_factor,
            retention_ms=int(parse_duration(kafka.retention).total_seconds() * 1000),
            groups=groups,
        )
    if backend.redis is None:
        raise ValueError("spec.backend has no block for its type")
    return StreamTarget(
        kind=StreamKind.REDIS,
        address=address,
        name=backend.redis.stream,
        groups=groups,
    )


def broker_observations(report: StreamReport) -> list[Observation]:
    """``BrokerReachable`` and ``StreamReady`` from what ensuring the stream found."""
    if not report.reachable:
        return [
            false(BROKER_REACHABLE, report.reason, report.message, failure=True),
            unknown(STREAM_READY, "BrokerUnreachable", "the broker did not answer"),
        ]
    broker = true(BROKER_REACHABLE, "Connected", "the broker answers")
    if not report.ready:
        return [broker, false(STREAM_READY, report.reason, report.message, failure=True)]
    return [broker, true(STREAM_READY, report.reason, report.message)]


def stream_announcements(report: StreamReport, target: StreamTarget) -> list[tuple[str, str]]:
    """(reason, message) of what ensuring the stream changed, worth a Kubernetes Event."""
    notes = []
    if report.created:
        noun = "Topic" if target.kind is StreamKind.KAFKA else "Stream"
        notes.append((f"{noun}Created", f"created {target.noun} {target.name!r}"))
    if report.partitions_before is not None:
        notes.append(
            (
                "PartitionsAdded",
                f"topic {target.name!r}: {report.partitions_before} → {target.partitions}",
            )
        )
    if report.groups_created and not report.created:
        groups = ", ".join(report.groups_created)
        notes.append(("ConsumerGroupCreated", f"{target.noun} {target.name!r}: {groups}"))
    return notes


def database_observation(result: ProbeResult) -> Observation:
    """``DatabaseReady`` from the PostgreSQL probe."""
    if result.ok:
        return true(DATABASE_READY, result.reason, result.message)
    return false(DATABASE_READY, result.reason, result.message, failure=True)


def llm_observation(result: ProbeResult | None) -> Observation:
    """``LLMReachable`` from the LLM probe (None: the pipeline has no LLM)."""
    if result is None:
        return true(LLM_REACHABLE, "NotConfigured", "no spec.llm: the pipeline is retrieve-only")
    if result.ok:
        return true(LLM_REACHABLE, result.reason, result.message)
    return false(LLM_REACHABLE, result.reason, result.message, failure=True)
