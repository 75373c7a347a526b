"""The cleanup ledger's decisions: what is deleted, what is kept, when to give up."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from ragline_operator.backends.common import StreamKind, StreamTarget
from ragline_operator.models.base import DeletionPolicy
from ragline_operator.reconcile.cleanup import (
    CleanupRecord,
    cleanup_observation,
    failing,
    give_up,
    plan_cleanup,
    record_for,
)

NOW = datetime(2026, 11, 22, 10, 0, tzinfo=UTC)
URL = "redis://:hunter22@cache:6379/0"


def record(uid: str, policy: DeletionPolicy, stream: str = "orders") -> CleanupRecord:
    target = StreamTarget(kind=StreamKind.REDIS, address=URL, name=stream)
    return record_for(uid=uid, namespace="shop", name=uid, policy=policy, target=target)


def test_only_delete_records_keep_the_address_and_records_round_trip() -> None:
    kept = record("a", DeletionPolicy.RETAIN)
    deleted = record("b", DeletionPolicy.DELETE)

    assert kept.address is None
    assert "hunter22" not in kept.to_json()
    assert deleted.address == URL
    assert CleanupRecord.from_json(deleted.to_json()) == deleted
    assert kept.target() is None
    target = deleted.target()
    assert target is not None
    assert (target.address, target.name) == (URL, "orders")


def test_a_gone_stream_is_deleted_unless_retained_or_still_used() -> None:
    ledger = {
        "gone-delete": record("gone-delete", DeletionPolicy.DELETE, "a"),
        "gone-retain": record("gone-retain", DeletionPolicy.RETAIN, "b"),
        "gone-shared": record("gone-shared", DeletionPolicy.DELETE, "c"),
        "live-shared": record("live-shared", DeletionPolicy.RETAIN, "c"),
    }

    steps = {
        s.record.uid: s for s in plan_cleanup(ledger, {"gone-delete", "gone-retain", "gone-shared"})
    }

    delete = steps["gone-delete"].delete
    assert delete is not None
    assert delete.name == "a"
    assert steps["gone-retain"].delete is None
    assert steps["gone-shared"].delete is None
    assert "another EventStream uses it" in steps["gone-shared"].why
    assert "live-shared" not in steps


def test_two_gone_records_of_one_stream_delete_it() -> None:
    ledger = {
        "x": record("x", DeletionPolicy.DELETE, "s"),
        "y": record("y", DeletionPolicy.DELETE, "s"),
    }

    steps = plan_cleanup(ledger, {"x", "y"})

    assert all(step.delete is not None for step in steps)


def test_a_failing_cleanup_is_retried_until_the_give_up_time() -> None:
    first = failing(record("a", DeletionPolicy.DELETE), now=NOW)
    later = failing(first, now=NOW + timedelta(hours=1))

    assert later.failing_since == first.failing_since == "2026-11-22T10:00:00Z"
    assert not give_up(record("a", DeletionPolicy.DELETE), now=NOW, after=timedelta(hours=1))
    assert not give_up(later, now=NOW + timedelta(minutes=59), after=timedelta(hours=1))
    assert give_up(later, now=NOW + timedelta(hours=1), after=timedelta(hours=1))


def test_cleanup_ready_exists_only_for_delete() -> None:
    ledger = "Secret ragline-system/ragline-operator-cleanup"

    assert (
        cleanup_observation(DeletionPolicy.RETAIN, recorded=True, problem="", ledger=ledger) is None
    )
    ok = cleanup_observation(DeletionPolicy.DELETE, recorded=True, problem="", ledger=ledger)
    broken = cleanup_observation(
        DeletionPolicy.DELETE, recorded=False, problem="namespace not found", ledger=ledger
    )

    assert ok is not None
    assert ok.is_true
    assert broken is not None
    assert (broken.reason, broken.failure) == ("LedgerUnavailable", True)
    assert "namespace not found" in broken.message
