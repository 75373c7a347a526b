"""Positions round-trip through their text form and order as the stream does."""

from __future__ import annotations

import pytest

from ragline_notifier.positions import KafkaCursor, RedisCursor, seen_by


def test_a_redis_position_is_the_entry_id() -> None:
    cursor = RedisCursor.parse("1767225600000-3")
    assert cursor.encode() == "1767225600000-3"
    assert cursor.at_or_after(RedisCursor(1767225600000, 2))
    assert not cursor.at_or_after(RedisCursor(1767225600001, 0))


def test_a_kafka_position_names_every_partition() -> None:
    cursor = KafkaCursor.parse("2:7,0:15,1:3")
    assert cursor.encode() == "0:15,1:3,2:7"
    assert cursor.at_or_after(KafkaCursor.of([(0, 15), (1, 2), (2, 7)]))
    assert not cursor.at_or_after(KafkaCursor.of([(0, 16), (1, 0), (2, 0)]))
    assert not cursor.at_or_after(KafkaCursor.of([(3, 0)])), "a partition it has not seen"


@pytest.mark.parametrize("text", ["", "abc", "12", "1-2-3", "-1-0", "1767225600000-x"])
def test_garbage_is_not_a_redis_position(text: str) -> None:
    with pytest.raises(ValueError, match="position"):
        RedisCursor.parse(text)


@pytest.mark.parametrize("text", ["", "0", "0:", "a:1", "0:1,x", "1767225600000-0"])
def test_garbage_is_not_a_kafka_position(text: str) -> None:
    with pytest.raises(ValueError, match="position"):
        KafkaCursor.parse(text)


def test_an_absurdly_long_kafka_position_is_refused() -> None:
    with pytest.raises(ValueError, match="position"):
        KafkaCursor.parse(",".join(f"{p}:0" for p in range(5000)))


def test_positions_of_different_streams_do_not_compare() -> None:
    with pytest.raises(TypeError):
        RedisCursor(1, 0).at_or_after(KafkaCursor.of([(0, 1)]))


def test_seen_by_tells_whether_a_client_was_already_past_an_event() -> None:
    client = KafkaCursor.of([(0, 10), (1, 4)])
    assert seen_by(client, (0, 9), KafkaCursor.of([(0, 10), (1, 0)]))
    assert not seen_by(client, (1, 4), KafkaCursor.of([(0, 0), (1, 5)]))
    assert seen_by(RedisCursor(5, 0), "4-9", RedisCursor(4, 9))
    assert not seen_by(RedisCursor(5, 0), "5-1", RedisCursor(5, 1))
