"""Status conditions: computed from observations, merged with the previous ones.

A reconcile pass produces :class:`Observation` values for the kind's domain conditions;
:func:`summarize` derives ``Ready``, ``Progressing`` and ``Degraded`` from them, and :func:`merge`
turns everything into metav1.Condition dicts, keeping ``lastTransitionTime`` when a status did not
change so that "Ready for 3 days" stays true after thousands of resyncs.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from ragline_operator.models.base import ConditionStatus, format_time

READY = "Ready"
PROGRESSING = "Progressing"
DEGRADED = "Degraded"
PAUSED_REASON = "Paused"
# Long messages (a stack of validation errors) are cut: status is for reading, not for logs.
MAX_MESSAGE_LENGTH = 1024


@dataclass(frozen=True)
class Observation:
    """A condition as one reconcile pass sees it.

    ``failure`` marks a False that means something is broken (counts as ``Degraded``), as
    opposed to a False that only means "not yet" (counts as ``Progressing``).
    """

    type: str
    status: ConditionStatus
    reason: str
    message: str = ""
    failure: bool = False

    @property
    def is_true(self) -> bool:
        """Whether the condition holds."""
        return self.status is ConditionStatus.TRUE


def true(type_: str, reason: str, message: str = "") -> Observation:
    """A condition that holds."""
    return Observation(type_, ConditionStatus.TRUE, reason, message)


def false(type_: str, reason: str, message: str = "", *, failure: bool = False) -> Observation:
    """A condition that does not hold (yet, or because something failed)."""
    return Observation(type_, ConditionStatus.FALSE, reason, message, failure)


def unknown(type_: str, reason: str, message: str = "") -> Observation:
    """A condition the operator could not determine."""
    return Observation(type_, ConditionStatus.UNKNOWN, reason, message)


def summarize(domain: Sequence[Observation], *, required: Collection[str]) -> list[Observation]:
    """``Ready``, ``Progressing`` and ``Degraded`` followed by the domain conditions.

    ``Ready`` holds when every ``required`` domain condition holds; conditions outside
    ``required`` (e.g. ``MonitoringReady``) are informational.
    """
    blockers = [o for o in domain if o.type in required and not o.is_true]
    failures = [o for o in domain if o.failure]
    waiting = [o for o in blockers if not o.failure]
    if blockers:
        first = blockers[0]
        ready = false(READY, first.reason, f"{first.type}: {first.message}")
    else:
        ready = true(READY, "Ready", "all components are ready")
    if waiting:
        progressing = true(PROGRESSING, waiting[0].reason, f"waiting for {waiting[0].type}")
    else:
        progressing = false(PROGRESSING, "Reconciled", "the desired state is reached")
    if failures:
        degraded = true(DEGRADED, failures[0].reason, f"{failures[0].type}: {failures[0].message}")
    else:
        degraded = false(DEGRADED, "AsExpected", "no component reports a failure")
    return [ready, progressing, degraded, *domain]


def paused(previous: Sequence[Mapping[str, Any]]) -> list[Observation]:
    """Conditions while reconciling is paused: the last ones, with ``Progressing`` saying why."""
    kept = [
        Observation(
            type=str(c["type"]),
            status=ConditionStatus(c.get("status", "Unknown")),
            reason=str(c.get("reason") or "Unknown"),
            message=str(c.get("message") or ""),
        )
        for c in previous
        if c.get("type") != PROGRESSING
    ]
    note = false(
        PROGRESSING,
        PAUSED_REASON,
        "reconciling is paused by the ragline.dev/paused annotation; children are left as they are",
    )
    return [*kept[:1], note, *kept[1:]] if kept else [note]


def merge(
    previous: Iterable[Mapping[str, Any]],
    observations: Sequence[Observation],
    *,
    generation: int | None,
    now: datetime,
) -> list[dict[str, Any]]:
    """metav1.Conditions for ``observations``; ``lastTransitionTime`` moves only on a change."""
    before = {str(c.get("type")): c for c in previous}
    merged = []
    for observation in observations:
        prior = before.get(observation.type)
        unchanged = prior is not None and prior.get("status") == observation.status.value
        condition: dict[str, Any] = {
            "type": observation.type,
            "status": observation.status.value,
            "reason": observation.reason,
            "message": observation.message[:MAX_MESSAGE_LENGTH],
            "lastTransitionTime": (
                prior["lastTransitionTime"]
                if unchanged and prior is not None and prior.get("lastTransitionTime")
                else format_time(now)
            ),
        }
        if generation is not None:
            condition["observedGeneration"] = generation
        merged.append(condition)
    return merged


@dataclass(frozen=True)
class Transition:
    """A condition whose status changed in this pass (worth a Kubernetes Event)."""

    type: str
    old: str | None
    new: str
    reason: str
    message: str

    @property
    def warning(self) -> bool:
        """Whether users should notice: Ready lost, or Degraded set (domain flips are Normal)."""
        if self.type == DEGRADED:
            return self.new == ConditionStatus.TRUE.value
        if self.type == READY:
            return self.new != ConditionStatus.TRUE.value and self.old is not None
        return False


def transitions(
    previous: Iterable[Mapping[str, Any]], current: Iterable[Mapping[str, Any]]
) -> list[Transition]:
    """Conditions whose status differs from before (new conditions count as changed)."""
    before = {str(c.get("type")): str(c.get("status")) for c in previous}
    return [
        Transition(
            type=str(c["type"]),
            old=before.get(str(c["type"])),
            new=str(c["status"]),
            reason=str(c["reason"]),
            message=str(c["message"]),
        )
        for c in current
        if before.get(str(c["type"])) != c["status"]
    ]


def condition_status(conditions: Iterable[Mapping[str, Any]], type_: str) -> str | None:
    """The status of condition ``type_``, if present."""
    for condition in conditions:
        if condition.get("type") == type_:
            return str(condition.get("status"))
    return None


def worth_an_event(
    previous: Iterable[Mapping[str, Any]], changes: Sequence[Transition]
) -> list[Transition]:
    """The transitions users should see as Kubernetes Events.

    A condition's first appearance is not a transition, and ``Progressing`` flips are noise.
    While a resource comes up (or recovers), its domain conditions turning True one by one are
    progress, not news: only ``Ready``, ``Degraded`` and warnings are announced then. From a Ready
    state every flip is news (a Secret went missing, a broker became unreachable).
    """
    steady = condition_status(previous, READY) == ConditionStatus.TRUE.value
    return [
        change
        for change in changes
        if change.old is not None
        and change.type != PROGRESSING
        and (steady or change.warning or change.type in (READY, DEGRADED))
    ]
