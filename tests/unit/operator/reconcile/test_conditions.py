"""Conditions: summary, merging with lastTransitionTime kept, transitions, pausing."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from ragline_operator.reconcile.conditions import (
    MAX_MESSAGE_LENGTH,
    false,
    merge,
    paused,
    summarize,
    transitions,
    true,
    worth_an_event,
)
from ragline_operator.reconcile.schedule import full_pass_due

T0 = datetime(2026, 11, 22, 10, 0, tzinfo=UTC)
T1 = T0 + timedelta(hours=3)


def by_type(conditions: list[dict[str, object]]) -> dict[object, dict[str, object]]:
    return {c["type"]: c for c in conditions}


def test_ready_when_every_required_condition_holds_ignoring_informational_ones() -> None:
    summary = summarize(
        [true("RelayReady", "Available"), false("MonitoringReady", "CRDNotInstalled")],
        required={"RelayReady"},
    )
    ready, progressing, degraded = summary[:3]
    assert (ready.type, ready.is_true) == ("Ready", True)
    assert (progressing.type, progressing.is_true) == ("Progressing", False)
    assert (degraded.type, degraded.is_true) == ("Degraded", False)
    assert [o.type for o in summary[3:]] == ["RelayReady", "MonitoringReady"]


def test_waiting_means_progressing_and_failing_means_degraded() -> None:
    waiting = summarize(
        [false("RelayReady", "PodsNotReady", "1 of 2 ready")], required={"RelayReady"}
    )
    assert waiting[0].reason == "PodsNotReady"
    assert waiting[0].message == "RelayReady: 1 of 2 ready"
    assert waiting[1].is_true
    assert not waiting[2].is_true

    failing = summarize(
        [false("SecretsReady", "SecretNotFound", "spec.database.dsn: ...", failure=True)],
        required={"SecretsReady"},
    )
    assert not failing[0].is_true
    assert not failing[1].is_true
    assert failing[2].is_true
    assert failing[2].reason == "SecretNotFound"


def test_last_transition_time_is_kept_while_the_status_does_not_change() -> None:
    first = merge([], [true("Ready", "Ready", "ok")], generation=1, now=T0)
    again = merge(first, [true("Ready", "Ready", "still ok")], generation=2, now=T1)
    flipped = merge(again, [false("Ready", "PodsNotReady")], generation=2, now=T1)

    assert again[0]["lastTransitionTime"] == "2026-11-22T10:00:00Z"
    assert again[0]["message"] == "still ok"
    assert again[0]["observedGeneration"] == 2
    assert flipped[0]["lastTransitionTime"] == "2026-11-22T13:00:00Z"


def test_reconciling_twice_gives_identical_conditions() -> None:
    observations = summarize([true("KeyReady", "KeyAvailable")], required={"KeyReady"})
    once = merge([], observations, generation=3, now=T0)
    twice = merge(once, observations, generation=3, now=T1)
    assert once == twice
    assert transitions(once, twice) == []


def test_transitions_name_the_changes_and_warn_on_losses() -> None:
    before = merge(
        [], [true("Ready", "Ready"), false("Degraded", "AsExpected")], generation=1, now=T0
    )
    after = merge(
        before,
        [false("Ready", "PodsNotReady"), true("Degraded", "ProgressDeadlineExceeded")],
        generation=1,
        now=T1,
    )
    changes = {t.type: t for t in transitions(before, after)}
    assert changes["Ready"].old == "True"
    assert changes["Ready"].new == "False"
    assert changes["Ready"].warning
    assert changes["Degraded"].warning
    recovered = transitions(after, before)
    assert not any(t.warning for t in recovered)
    done = transitions(
        merge([], [true("Ingesting", "Running")], generation=1, now=T0),
        merge([], [false("Ingesting", "Idle")], generation=1, now=T1),
    )
    assert [(t.type, t.warning) for t in done] == [("Ingesting", False)]


def test_long_messages_are_cut() -> None:
    merged = merge([], [false("Ready", "InvalidSpec", "x" * 5000)], generation=1, now=T0)
    assert len(merged[0]["message"]) == MAX_MESSAGE_LENGTH


def test_pausing_keeps_conditions_and_says_so_in_progressing() -> None:
    running = merge(
        [],
        summarize([true("RelayReady", "Available")], required={"RelayReady"}),
        generation=1,
        now=T0,
    )
    held = merge(running, paused(running), generation=None, now=T1)
    conditions = by_type(held)

    assert conditions["Ready"]["status"] == "True"
    assert conditions["Ready"]["lastTransitionTime"] == "2026-11-22T10:00:00Z"
    assert conditions["Progressing"]["reason"] == "Paused"
    assert "ragline.dev/paused" in str(conditions["Progressing"]["message"])
    assert set(conditions) == {"Ready", "Progressing", "Degraded", "RelayReady"}


def due(*, last_pass: float | None, ready: bool, now: float, requested: bool = False) -> bool:
    return full_pass_due(
        last_pass=last_pass,
        ready=ready,
        now=now,
        progress_seconds=5.0,
        resync_seconds=60.0,
        requested=requested,
    )


def test_a_not_ready_object_is_rechecked_sooner_than_a_ready_one() -> None:
    assert due(last_pass=None, ready=True, now=0.0)
    assert due(last_pass=100.0, ready=False, now=105.0)
    assert not due(last_pass=100.0, ready=True, now=105.0)
    assert due(last_pass=100.0, ready=True, now=160.0)


def test_a_requested_pass_is_due_at_once() -> None:
    assert due(last_pass=100.0, ready=True, now=101.0, requested=True)


def condition(type_: str, status: str) -> dict[str, str]:
    return {"type": type_, "status": status, "reason": "R", "message": "m"}


def test_only_real_transitions_are_worth_an_event() -> None:
    coming_up = [condition("Ready", "False"), condition("RelayReady", "False")]
    ready = [condition("Ready", "True"), condition("RelayReady", "True")]
    lost = [condition("Ready", "False"), condition("RelayReady", "False")]

    bring_up = {t.type for t in worth_an_event(coming_up, transitions(coming_up, ready))}
    breaking = {t.type for t in worth_an_event(ready, transitions(ready, lost))}
    first = worth_an_event([], transitions([], coming_up))

    assert bring_up == {"Ready"}  # a domain condition turning True while coming up is progress
    assert breaking == {"Ready", "RelayReady"}  # from a Ready state every flip is news
    assert first == []  # first appearances are not transitions
