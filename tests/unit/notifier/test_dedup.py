"""Copies of an event are recognised live and in replays, within a bounded memory."""

from __future__ import annotations

from ragline_notifier.dedup import Dedup
from ragline_notifier.positions import RedisCursor
from tests.unit.notifier.helpers import event


def test_a_copy_at_a_later_position_is_not_a_first_sighting() -> None:
    dedup = Dedup(capacity=10, margin=0)
    original, copy = event(1, event_id="x"), event(5, event_id="x")
    assert dedup.first_sighting(original)
    assert not dedup.first_sighting(copy)
    assert dedup.verdict(original) is True
    assert dedup.verdict(copy) is False
    assert dedup.verdict(event(9, event_id="never-seen")) is None


def test_the_oldest_ids_are_forgotten_and_the_floor_follows() -> None:
    dedup = Dedup(capacity=3, margin=1)
    for seq in range(1, 6):
        dedup.first_sighting(event(seq))
    assert len(dedup) == 3
    assert dedup.verdict(event(1)) is None
    assert dedup.floor == RedisCursor(1000, 2)
    # The memory holds 3, 4, 5: a resume needs ``margin`` entries before it remembered too.
    assert dedup.covers(RedisCursor(1000, 4))
    assert not dedup.covers(RedisCursor(1000, 3))


def test_a_memory_seeded_with_the_whole_stream_covers_every_resume() -> None:
    dedup = Dedup(capacity=100, margin=50)
    dedup.start([event(1), event(2)], complete=True, frontier=RedisCursor(1000, 2))
    assert dedup.covers(RedisCursor(0, 0))
    assert not dedup.first_sighting(event(7, event_id="e1"))


def test_a_memory_seeded_with_only_the_tail_covers_nothing_before_it() -> None:
    dedup = Dedup(capacity=100, margin=1)
    dedup.start([event(5), event(6), event(7)], complete=False, frontier=RedisCursor(1000, 7))
    assert dedup.floor == RedisCursor(1000, 5)
    assert not dedup.covers(RedisCursor(1000, 4))
    assert dedup.covers(RedisCursor(1000, 6))
