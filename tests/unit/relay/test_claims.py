"""A claim's records split into rows to publish, in order, and rows held back."""

from __future__ import annotations

import uuid

from ragline_relay.claims import to_claim


def record(*, blocked: bool) -> tuple[object, ...]:
    """A claim record: id, aggregate type and id, type, tenant, payload, attempts, blocked."""
    return (uuid.uuid4(), "order", str(uuid.uuid4()), "order.created.v1", "acme", "{}", 0, blocked)


def test_held_back_rows_are_counted_not_published() -> None:
    records = [record(blocked=False), record(blocked=True), record(blocked=False)]
    claim = to_claim(records)
    assert [row.id for row in claim.rows] == [records[0][0], records[2][0]]
    assert claim.blocked == 1
    assert claim.claimed == 3
