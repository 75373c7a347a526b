"""Readiness from children's status; the RagPipeline's index switch-over."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest

from ragline_operator.models import EmbeddingProvider
from ragline_operator.reconcile.pipeline import (
    decide_index,
    event_stream_observation,
    ingestion_observations,
    migration_observation,
)
from ragline_operator.reconcile.workloads import (
    IngestionReport,
    JobState,
    deployment_observation,
    ingestion_report,
    job_state,
)
from ragline_operator.resources.ragpipeline import IndexTarget

NOW = datetime(2026, 11, 22, 10, 0, tzinfo=UTC)
OLD = IndexTarget("rag_chunks_old", EmbeddingProvider.LOCAL, "old", 384)
NEW = IndexTarget("rag_chunks_new", EmbeddingProvider.LOCAL, "new", 768)


def deployment(replicas: int = 2, generation: int = 1, **status: Any) -> dict[str, Any]:
    return {
        "metadata": {"generation": generation},
        "spec": {"replicas": replicas},
        "status": {"observedGeneration": generation, **status},
    }


@pytest.mark.parametrize(
    ("obj", "status", "reason"),
    [
        (None, "False", "Creating"),
        (deployment(generation=2, observedGeneration=1), "False", "RollingOut"),
        (deployment(replicas=2, updatedReplicas=1, replicas_=2), "False", "RollingOut"),
        (deployment(updatedReplicas=2, replicas=3, readyReplicas=2), "False", "RollingOut"),
        (deployment(updatedReplicas=2, replicas=2, readyReplicas=1), "False", "PodsNotReady"),
        (deployment(updatedReplicas=2, replicas=2, readyReplicas=2), "True", "Available"),
        (deployment(replicas=0), "True", "ScaledToZero"),
    ],
)
def test_deployment_readiness(obj: dict[str, Any] | None, status: str, reason: str) -> None:
    if obj is not None:
        obj["status"].pop("replicas_", None)
    observation = deployment_observation("APIReady", obj, name="menu-api")
    assert (observation.status.value, observation.reason) == (status, reason)
    assert observation.failure is False


def test_a_stuck_rollout_is_a_failure() -> None:
    obj = deployment(
        conditions=[
            {"type": "Progressing", "status": "False", "reason": "ProgressDeadlineExceeded"}
        ]
    )
    observation = deployment_observation("APIReady", obj, name="menu-api")
    assert observation.failure
    assert observation.reason == "ProgressDeadlineExceeded"


def test_job_states() -> None:
    complete = {"status": {"conditions": [{"type": "Complete", "status": "True"}]}}
    failed = {"status": {"conditions": [{"type": "Failed", "status": "True", "message": "boom"}]}}
    assert job_state(None) is JobState.MISSING
    assert job_state({"status": {"active": 1}}) is JobState.RUNNING
    assert job_state(complete) is JobState.SUCCEEDED
    assert job_state(failed) is JobState.FAILED
    observation = migration_observation(JobState.FAILED, failed)
    assert observation.failure
    assert observation.message == "boom"
    assert migration_observation(JobState.SUCCEEDED, complete).is_true


def test_ingestion_report_is_read_from_a_succeeded_pods_termination_message() -> None:
    def pod(code: int, message: str) -> dict[str, Any]:
        state = {"terminated": {"exitCode": code, "message": message}}
        return {"status": {"containerStatuses": [{"state": state}]}}

    report = json.dumps({"documents": 13, "chunks": 41})
    assert ingestion_report([pod(1, report), pod(0, report)]) == IngestionReport(13, 41)
    assert ingestion_report([pod(0, "not json")]) is None
    assert ingestion_report([]) is None


def test_the_active_index_switches_only_when_the_new_one_is_complete() -> None:
    previous = {
        "table": OLD.table,
        "embeddingProvider": "Local",
        "embeddingModel": OLD.model,
        "dimensions": OLD.dimensions,
        "documents": 10,
        "chunks": 30,
        "lastIndexedAt": "2026-11-01T00:00:00Z",
    }
    running = decide_index(
        target=NEW, previous=previous, ingestion=JobState.RUNNING, report=None, now=NOW
    )
    assert running.serving == OLD
    assert running.status == previous

    done = decide_index(
        target=NEW,
        previous=previous,
        ingestion=JobState.SUCCEEDED,
        report=IngestionReport(13, 41),
        now=NOW,
    )
    assert done.serving == NEW
    assert done.status is not None
    assert done.status["table"] == NEW.table
    assert (done.status["documents"], done.status["chunks"]) == (13, 41)
    assert done.status["lastIndexedAt"] == "2026-11-22T10:00:00Z"

    again = decide_index(
        target=NEW, previous=done.status, ingestion=JobState.SUCCEEDED, report=None, now=NOW
    )
    assert again.status == done.status


def test_before_any_index_there_is_nothing_to_serve() -> None:
    decision = decide_index(
        target=NEW, previous=None, ingestion=JobState.RUNNING, report=None, now=NOW
    )
    assert decision.serving is None
    assert decision.status is None
    ingesting, index = ingestion_observations(JobState.RUNNING, None, serving=None)
    assert ingesting.is_true
    assert not index.is_true
    assert index.reason == "Building"
    _, reindexing = ingestion_observations(JobState.RUNNING, None, serving=OLD)
    assert reindexing.is_true
    assert reindexing.reason == "Reindexing"


def test_event_stream_reference() -> None:
    assert event_stream_observation(None, None) is None
    missing = event_stream_observation("orders", None)
    assert missing is not None
    assert missing.reason == "NotFound"
    assert "spec.eventStreamRef" in missing.message
    ready = {"status": {"conditions": [{"type": "Ready", "status": "True"}]}}
    observed = event_stream_observation("orders", ready)
    assert observed is not None
    assert observed.is_true
