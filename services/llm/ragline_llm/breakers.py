"""Circuit breakers around upstream calls: ``pybreaker`` state, an asyncio-safe trial call.

``pybreaker`` counts failures, opens after ``fail_max`` consecutive ones, half-opens once
``reset_timeout`` has passed and closes on a successful trial. Used as
``with breaker.calling(): await call()`` it does that correctly in asyncio code, but in the
half-open state it lets *every* concurrent call through; :meth:`UpstreamBreaker.guard` admits a
single trial call and refuses the others at once, as if the breaker were still open.

Which outcomes count:

* an exception the upstream is to blame for (5xx, timeouts, connection errors, malformed
  replies, 401/403/429) is a failure;
* a 4xx that says our request was wrong (400, 404, 413, 422) is not the upstream's fault:
  pybreaker treats such excluded errors as successes (the upstream answered);
* our own client hanging up (cancellation) is not the upstream's fault either, and counts the
  same way: the upstream was answering when we stopped listening.
"""

from __future__ import annotations

import asyncio
import math
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta

import openai
import pybreaker

from ragline_llm.errors import UpstreamUnavailableError
from ragline_llm.metrics import LlmMetrics

STATE_VALUES = {pybreaker.STATE_CLOSED: 0, pybreaker.STATE_HALF_OPEN: 1, pybreaker.STATE_OPEN: 2}
_REQUEST_FAULT_STATUSES = frozenset({400, 404, 413, 422})


def not_upstream_fault(exc: BaseException) -> bool:
    """Tell whether ``exc`` says nothing about the upstream's health (excluded from failures)."""
    if isinstance(exc, asyncio.CancelledError | GeneratorExit):
        return True
    return isinstance(exc, openai.APIStatusError) and exc.status_code in _REQUEST_FAULT_STATUSES


class _MetricsListener(pybreaker.CircuitBreakerListener):
    def __init__(self, metrics: LlmMetrics | None) -> None:
        self.metrics = metrics

    def state_change(
        self, cb: pybreaker.CircuitBreaker, old_state: object, new_state: object
    ) -> None:
        if self.metrics is None:
            return
        name = str(new_state.name)  # type: ignore[attr-defined]
        self.metrics.breaker_state.labels(cb.name).set(STATE_VALUES[name])
        self.metrics.breaker_transitions.labels(cb.name, name).inc()


class UpstreamBreaker:
    """One upstream's breaker (``chat`` or ``embeddings``)."""

    def __init__(
        self,
        name: str,
        *,
        fail_max: int,
        reset_seconds: float,
        metrics: LlmMetrics | None = None,
        exclude: Callable[[BaseException], bool] = not_upstream_fault,
    ) -> None:
        self.name = name
        self.breaker = pybreaker.CircuitBreaker(
            fail_max=fail_max,
            reset_timeout=reset_seconds,
            exclude=[exclude],
            listeners=[_MetricsListener(metrics)],
            name=name,
            # The caller maps both the original error and the trip to its own problems; keeping
            # the original tells a client *why* the call that tripped the breaker failed.
            throw_new_error_on_trip=False,
        )
        self._trial_in_flight = False
        if metrics is not None:
            metrics.breaker_state.labels(name).set(0)

    @property
    def state(self) -> str:
        """``closed``, ``open`` or ``half-open`` (an open breaker whose wait is over is reported
        as half-open: the next call will be its trial)."""
        state = str(self.breaker.current_state)
        if state == pybreaker.STATE_OPEN and self.retry_after_seconds() == 0:
            return pybreaker.STATE_HALF_OPEN
        return state

    def retry_after_seconds(self) -> int:
        """Whole seconds until an open breaker lets a trial call through (0: now)."""
        opened_at: datetime | None = self.breaker._state_storage.opened_at
        if opened_at is None or self.breaker.current_state == pybreaker.STATE_CLOSED:
            return 0
        ready_at = opened_at + timedelta(seconds=self.breaker.reset_timeout)
        remaining = (ready_at - datetime.now(UTC)).total_seconds()
        return max(0, math.ceil(remaining))

    def check(self) -> None:
        """Raise :class:`UpstreamUnavailableError` if a call would be refused right now."""
        if self.breaker.current_state == pybreaker.STATE_CLOSED:
            return
        if self._trial_in_flight or self.retry_after_seconds() > 0:
            raise self._unavailable()

    @contextmanager
    def guard(self) -> Iterator[None]:
        """Run the block as one guarded call: ``with breaker.guard(): await call()``.

        Raises :class:`UpstreamUnavailableError` (503, ``Retry-After``) without running the
        block when the breaker is open or its single half-open trial is already in flight.
        """
        trial = self.breaker.current_state != pybreaker.STATE_CLOSED
        if trial:
            self.check()
            self._trial_in_flight = True
        try:
            with self.breaker.calling():
                yield
        except pybreaker.CircuitBreakerError as exc:
            raise self._unavailable() from exc
        finally:
            if trial:
                self._trial_in_flight = False

    def _unavailable(self) -> UpstreamUnavailableError:
        return UpstreamUnavailableError(
            self.name, retry_after_seconds=max(1, self.retry_after_seconds())
        )
