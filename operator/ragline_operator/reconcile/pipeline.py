"""RagPipeline decisions: which index the chat service reads, and the pipeline's conditions.

Changing the embedding model or size names a new index table. The ingestion Job fills it while
the chat service keeps answering from the active one; only when that Job has succeeded does the
active index switch (and the chat Deployment roll to the new table).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from ragline_operator.models import EmbeddingProvider
from ragline_operator.models.base import format_time
from ragline_operator.reconcile.conditions import Observation, false, true
from ragline_operator.reconcile.workloads import (
    IngestionReport,
    JobState,
    job_failure_message,
)
from ragline_operator.resources.ragpipeline import IndexTarget

MIGRATED = "Migrated"
INDEX_READY = "IndexReady"
INGESTING = "Ingesting"
API_READY = "APIReady"
CHAT_READY = "ChatReady"
EVENT_STREAM_READY = "EventStreamReady"


def active_index(status_index: Mapping[str, Any] | None) -> IndexTarget | None:
    """The index recorded in status as active, if complete."""
    if not status_index:
        return None
    try:
        return IndexTarget(
            table=str(status_index["table"]),
            provider=EmbeddingProvider(str(status_index["embeddingProvider"])),
            model=str(status_index["embeddingModel"]),
            dimensions=int(status_index["dimensions"]),
        )
    except (KeyError, ValueError, TypeError):
        return None


@dataclass(frozen=True)
class IndexDecision:
    """The index to serve and what status.index should say."""

    serving: IndexTarget | None
    status: dict[str, Any] | None


def decide_index(
    *,
    target: IndexTarget,
    previous: Mapping[str, Any] | None,
    ingestion: JobState,
    report: IngestionReport | None,
    now: datetime,
    job: str | None = None,
) -> IndexDecision:
    """Switch to ``target`` once its ingestion succeeded; otherwise keep what was active.

    ``job`` names the ingestion Job the counts come from: a new Job over the same table (a source
    ConfigMap changed) refreshes the counts and ``lastIndexedAt``.
    """
    active = active_index(previous)
    if ingestion is JobState.SUCCEEDED:
        fresh = active != target or (
            job is not None and (previous or {}).get("ingestionJob") != job
        )
        status: dict[str, Any] = dict(previous or {})
        status.update(
            {
                "table": target.table,
                "embeddingProvider": target.provider.value,
                "embeddingModel": target.model,
                "dimensions": target.dimensions,
            }
        )
        if job is not None:
            status["ingestionJob"] = job
        if report is not None:
            status["documents"] = report.documents
            status["chunks"] = report.chunks
        if fresh or "lastIndexedAt" not in status:
            status["lastIndexedAt"] = format_time(now)
        return IndexDecision(serving=target, status=status)
    return IndexDecision(serving=active, status=dict(previous) if previous else None)


def migration_observation(state: JobState, job: Mapping[str, Any] | None) -> Observation:
    """``Migrated`` from the migration Job."""
    if state is JobState.SUCCEEDED:
        return true(MIGRATED, "Succeeded", "database schema is up to date")
    if state is JobState.FAILED:
        return false(MIGRATED, "JobFailed", job_failure_message(job), failure=True)
    return false(MIGRATED, "Running", "the migration Job is running")


def ingestion_observations(
    state: JobState,
    job: Mapping[str, Any] | None,
    *,
    serving: IndexTarget | None,
    source_problems: Sequence[str] = (),
) -> list[Observation]:
    """``Ingesting`` and ``IndexReady`` from the ingestion Job and the active index.

    With a source missing no ingestion Job runs: ``Ingesting`` names it (a failure the user must
    fix) while the active index, if any, keeps serving.
    """
    if source_problems:
        ingesting = false(INGESTING, "SourceNotFound", "; ".join(source_problems), failure=True)
    elif state is JobState.RUNNING or state is JobState.MISSING:
        ingesting = true(INGESTING, "Running", "the ingestion Job is indexing the sources")
    elif state is JobState.FAILED:
        ingesting = false(INGESTING, "JobFailed", job_failure_message(job), failure=True)
    else:
        ingesting = false(INGESTING, "Idle", "every source is indexed")
    if serving is None:
        index = false(INDEX_READY, "Building", "no complete index yet")
    elif state is JobState.SUCCEEDED:
        index = true(INDEX_READY, "Current", f"serving {serving.table} ({serving.model})")
    else:
        index = true(
            INDEX_READY, "Reindexing", f"serving {serving.table} while the new index builds"
        )
    return [ingesting, index]


def event_stream_observation(
    name: str | None, stream: Mapping[str, Any] | None
) -> Observation | None:
    """``EventStreamReady`` for a referenced EventStream (None without a reference)."""
    if name is None:
        return None
    if stream is None:
        return false(
            EVENT_STREAM_READY,
            "NotFound",
            f"EventStream {name!r} (spec.eventStreamRef) not found",
        )
    conditions = stream.get("status", {}).get("conditions") or []
    if any(c.get("type") == "Ready" and c.get("status") == "True" for c in conditions):
        return true(EVENT_STREAM_READY, "Ready", f"EventStream {name!r} is ready")
    return false(EVENT_STREAM_READY, "NotReady", f"EventStream {name!r} is not ready yet")
