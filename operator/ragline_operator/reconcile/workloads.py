"""Readiness of children, read from the objects the API server returned (status included)."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from ragline_operator.reconcile.conditions import Observation, false, true

Obj = Mapping[str, Any]


def _condition(obj: Obj, type_: str) -> Obj | None:
    for condition in obj.get("status", {}).get("conditions") or []:
        if condition.get("type") == type_:
            return dict(condition)
    return None


def deployment_observation(type_: str, deployment: Obj | None, *, name: str) -> Observation:
    """Whether a Deployment has rolled out and all its desired pods are ready."""
    if not deployment:
        return false(type_, "Creating", f"Deployment {name} does not exist yet")
    progressing = _condition(deployment, "Progressing") or {}
    if progressing.get("reason") == "ProgressDeadlineExceeded":
        return false(
            type_,
            "ProgressDeadlineExceeded",
            f"Deployment {name} is not making progress: {progressing.get('message', '')}",
            failure=True,
        )
    generation = int(deployment.get("metadata", {}).get("generation", 0))
    if int(deployment.get("status", {}).get("observedGeneration", 0)) < generation:
        return false(type_, "RollingOut", f"Deployment {name}: change not yet observed")
    return _rollout_observation(type_, deployment, name=name)


def _rollout_observation(type_: str, deployment: Obj, *, name: str) -> Observation:
    status = deployment.get("status", {})
    desired = int(deployment.get("spec", {}).get("replicas", 1))
    updated = int(status.get("updatedReplicas", 0))
    ready = int(status.get("readyReplicas", 0))
    total = int(status.get("replicas", 0))
    if updated < desired or total > updated:
        return false(type_, "RollingOut", f"Deployment {name}: {updated} of {desired} updated")
    if ready < desired:
        return false(type_, "PodsNotReady", f"Deployment {name}: {ready} of {desired} ready")
    if desired == 0:
        return true(type_, "ScaledToZero", f"Deployment {name} has no replicas")
    return true(type_, "Available", f"Deployment {name}: {ready} of {desired} ready")


class JobState(StrEnum):
    """Where a Job is in its life."""

    MISSING = "Missing"
    RUNNING = "Running"
    SUCCEEDED = "Succeeded"
    FAILED = "Failed"


def job_state(job: Obj | None) -> JobState:
    """Complete / Failed from the Job's conditions (counters as a fallback)."""
    if not job:
        return JobState.MISSING
    for type_, state in (("Complete", JobState.SUCCEEDED), ("Failed", JobState.FAILED)):
        condition = _condition(job, type_)
        if condition is not None and condition.get("status") == "True":
            return state
    if int(job.get("status", {}).get("succeeded", 0)) > 0:
        return JobState.SUCCEEDED
    return JobState.RUNNING


def job_failure_message(job: Obj | None) -> str:
    """The Failed condition's message, if any."""
    condition = _condition(job or {}, "Failed") or {}
    return str(condition.get("message") or condition.get("reason") or "")


@dataclass(frozen=True)
class IngestionReport:
    """What an ingestion Job reports in its termination message."""

    documents: int
    chunks: int


def ingestion_report(pods: Sequence[Obj]) -> IngestionReport | None:
    """The ``{"documents": N, "chunks": M}`` a succeeded ingestion pod wrote, if readable."""
    for pod in pods:
        for status in pod.get("status", {}).get("containerStatuses") or []:
            terminated = status.get("state", {}).get("terminated") or {}
            if terminated.get("exitCode") != 0 or not terminated.get("message"):
                continue
            try:
                data = json.loads(terminated["message"])
                return IngestionReport(int(data["documents"]), int(data["chunks"]))
            except (ValueError, KeyError, TypeError):
                continue
    return None
