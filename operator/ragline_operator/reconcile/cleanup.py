"""The cleanup ledger: what to delete outside Kubernetes once an EventStream is gone.

Why not a finalizer: a finalizer makes the API server keep the EventStream — and therefore its
namespace — until the operator removes it, so deleting a namespace would hang for as long as the
operator is down. Instead every EventStream is recorded in one Secret in the operator's own
namespace (``uid`` → record). A record holds the broker address only when the policy is
``Delete`` (it is needed after the EventStream and its Secrets are gone). When an EventStream is
gone — seen as a DELETED event, or found missing by the periodic sweep after the operator was away
— its topic or stream is deleted, unless another EventStream that still exists uses the same one,
and the record is dropped.
"""

from __future__ import annotations

import json
from collections.abc import Collection, Mapping
from dataclasses import asdict, dataclass, replace
from datetime import datetime, timedelta
from typing import Any

from ragline_operator.backends.common import StreamKind, StreamTarget, digest
from ragline_operator.models.base import DeletionPolicy, format_time, parse_time
from ragline_operator.reconcile.conditions import Observation, false, true

CLEANUP_READY = "CleanupReady"


@dataclass(frozen=True)
class CleanupRecord:
    """One EventStream's entry in the ledger."""

    uid: str
    namespace: str
    name: str
    policy: DeletionPolicy
    kind: StreamKind
    stream: str
    address_digest: str
    address: str | None = None
    failing_since: str | None = None

    def to_json(self) -> str:
        """The ledger's value for this record."""
        data = {k: v for k, v in asdict(self).items() if v is not None}
        return json.dumps(data, sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> CleanupRecord:
        """Parse :meth:`to_json`; ValueError/KeyError/TypeError on anything else."""
        data: dict[str, Any] = json.loads(text)
        return cls(
            uid=str(data["uid"]),
            namespace=str(data["namespace"]),
            name=str(data["name"]),
            policy=DeletionPolicy(data["policy"]),
            kind=StreamKind(data["kind"]),
            stream=str(data["stream"]),
            address_digest=str(data["address_digest"]),
            address=data.get("address"),
            failing_since=data.get("failing_since"),
        )

    @property
    def shares_key(self) -> tuple[str, str, str]:
        """What identifies the topic or stream, whoever records it."""
        return (self.kind.value, self.address_digest, self.stream)

    def target(self) -> StreamTarget | None:
        """What to delete (None for Retain, or a record without an address)."""
        if self.policy is not DeletionPolicy.DELETE or not self.address:
            return None
        return StreamTarget(kind=self.kind, address=self.address, name=self.stream)


def record_for(
    *, uid: str, namespace: str, name: str, policy: DeletionPolicy, target: StreamTarget
) -> CleanupRecord:
    """The ledger record of an EventStream as it is now."""
    return CleanupRecord(
        uid=uid,
        namespace=namespace,
        name=name,
        policy=policy,
        kind=target.kind,
        stream=target.name,
        address_digest=digest(target.address),
        address=target.address if policy is DeletionPolicy.DELETE else None,
    )


def cleanup_observation(
    policy: DeletionPolicy, *, recorded: bool, problem: str, ledger: str
) -> Observation | None:
    """``CleanupReady`` for ``Delete`` (None for ``Retain``: there is nothing to arm)."""
    if policy is not DeletionPolicy.DELETE:
        return None
    if recorded:
        return true(
            CLEANUP_READY,
            "Recorded",
            f"deletionPolicy Delete: the topic or stream is deleted after this EventStream "
            f"(recorded in {ledger})",
        )
    return false(
        CLEANUP_READY,
        "LedgerUnavailable",
        f"deletionPolicy Delete cannot be honoured: {problem}",
        failure=True,
    )


@dataclass(frozen=True)
class CleanupStep:
    """What to do with the record of one EventStream that is gone."""

    record: CleanupRecord
    delete: StreamTarget | None
    why: str


def plan_cleanup(ledger: Mapping[str, CleanupRecord], gone: Collection[str]) -> list[CleanupStep]:
    """Steps for the gone records: delete their stream unless a live record shares it."""
    live_keys = {r.shares_key for uid, r in ledger.items() if uid not in gone}
    steps = []
    for uid in sorted(gone):
        record = ledger.get(uid)
        if record is None:
            continue
        target = record.target()
        if target is None:
            steps.append(CleanupStep(record, None, "deletionPolicy Retain: kept"))
        elif record.shares_key in live_keys:
            steps.append(CleanupStep(record, None, "kept: another EventStream uses it"))
        else:
            steps.append(CleanupStep(record, target, "deletionPolicy Delete"))
    return steps


def give_up(record: CleanupRecord, *, now: datetime, after: timedelta) -> bool:
    """Whether a cleanup that keeps failing has been retried long enough."""
    if record.failing_since is None:
        return False
    return now - parse_time(record.failing_since) >= after


def failing(record: CleanupRecord, *, now: datetime) -> CleanupRecord:
    """The record marked as failing since its first failure."""
    return replace(record, failing_since=record.failing_since or format_time(now))
