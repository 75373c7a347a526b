"""Retry delays grow exponentially, stay under their cap, and are jittered."""

from __future__ import annotations

import pytest

from ragline_relay.backoff import Backoff, delay


@pytest.mark.parametrize(("attempt", "ceiling"), [(1, 1.0), (2, 2.0), (3, 4.0), (6, 32.0)])
def test_delay_doubles_per_attempt_between_half_and_all_of_its_ceiling(
    attempt: int, ceiling: float
) -> None:
    assert delay(attempt, base=1.0, cap=100.0, jitter=lambda: 0.0) == ceiling / 2
    assert delay(attempt, base=1.0, cap=100.0, jitter=lambda: 1.0) == ceiling


def test_delay_never_exceeds_its_cap_even_after_many_attempts() -> None:
    assert delay(10_000, base=1.0, cap=300.0, jitter=lambda: 1.0) == 300.0


def test_backoff_grows_on_failures_and_starts_over_after_a_success() -> None:
    waits = Backoff(base=0.1, cap=5.0)
    first, second, third = waits.next(), waits.next(), waits.next()
    assert 0.05 <= first <= 0.1
    assert 0.1 <= second <= 0.2
    assert 0.2 <= third <= 0.4
    waits.reset()
    assert waits.next() <= 0.1
