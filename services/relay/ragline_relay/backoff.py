"""Exponential backoff with jitter, for retrying one event and for waiting out a broker outage."""

from __future__ import annotations

import random
from collections.abc import Callable


def delay(
    attempt: int, *, base: float, cap: float, jitter: Callable[[], float] = random.random
) -> float:
    """Return the wait before try ``attempt + 1`` (``attempt`` ≥ 1 failures so far).

    ``base * 2**(attempt-1)`` capped at ``cap``, of which the upper half is random ("equal
    jitter"): relays that failed together do not retry in lockstep, yet each waits at least half.
    """
    ceiling = min(cap, base * float(2 ** min(attempt - 1, 62)))
    return ceiling / 2 + jitter() * ceiling / 2


class Backoff:
    """Successive waits of one loop: grows on each failure, back to the start on success."""

    def __init__(self, *, base: float, cap: float) -> None:
        self.base = base
        self.cap = cap
        self.failures = 0

    def next(self) -> float:
        """Count a failure and return how long to wait."""
        self.failures += 1
        return delay(self.failures, base=self.base, cap=self.cap)

    def reset(self) -> None:
        """Forget the failures after a success."""
        self.failures = 0
