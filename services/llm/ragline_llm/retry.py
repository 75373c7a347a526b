"""Retries with backoff for transient upstream errors, each attempt guarded by the breaker.

Transient: connection errors and timeouts, 408, 409 (lock timeouts), 429 and 5xx — what a retry
can fix. Everything else (a 4xx about our request, a malformed reply) fails at once. Every
attempt is one breaker call, so an outage opens the breaker after ``fail_max`` attempts, and a
retry that finds the breaker open stops retrying and answers 503 at once.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TypeVar

import openai

from ragline_common.errors import RaglineError
from ragline_common.logs import get_logger
from ragline_llm.breakers import UpstreamBreaker
from ragline_llm.errors import UpstreamError, UpstreamTimeoutError
from ragline_llm.metrics import LlmMetrics

T = TypeVar("T")
log = get_logger(__name__)
_TRANSIENT_STATUSES = frozenset({408, 409, 429})


class MalformedReplyError(Exception):
    """The upstream answered 2xx with something we cannot use."""


@dataclass(frozen=True)
class RetryPolicy:
    """How often and how patiently transient errors are retried."""

    attempts: int = 2
    base_delay_seconds: float = 0.25
    max_delay_seconds: float = 4.0

    def delay(self, retry: int) -> float:
        """Full-jitter exponential backoff before retry number ``retry`` (1-based)."""
        ceiling = min(self.max_delay_seconds, self.base_delay_seconds * 2 ** (retry - 1))
        return random.uniform(0, ceiling)  # noqa: S311 - jitter, not cryptography


def is_transient(exc: BaseException) -> bool:
    """Tell whether retrying might help."""
    if isinstance(exc, openai.APIConnectionError | TimeoutError):
        return True
    if isinstance(exc, openai.APIStatusError):
        return exc.status_code in _TRANSIENT_STATUSES or exc.status_code >= 500
    return False


def upstream_problem(exc: BaseException, *, upstream: str) -> RaglineError:
    """Translate an upstream exception into the problem the client sees."""
    if isinstance(exc, RaglineError):
        return exc
    if isinstance(exc, openai.APITimeoutError | TimeoutError):
        return UpstreamTimeoutError(f"the {upstream} upstream did not answer in time")
    if isinstance(exc, openai.APIStatusError):
        return UpstreamError(f"the {upstream} upstream answered {exc.status_code}")
    if isinstance(exc, openai.APIConnectionError):
        return UpstreamError(f"the {upstream} upstream could not be reached")
    return UpstreamError(f"the {upstream} upstream sent a malformed reply")


async def call_upstream(
    operation: Callable[[], Awaitable[T]],
    *,
    breaker: UpstreamBreaker,
    policy: RetryPolicy,
    metrics: LlmMetrics | None = None,
) -> T:
    """Run ``operation`` under the breaker, retrying transient errors; raise a problem on failure.

    Raises :class:`UpstreamUnavailableError` (breaker open), :class:`UpstreamTimeoutError` or
    :class:`UpstreamError`.
    """
    retry = 0
    while True:
        try:
            with breaker.guard():
                result = await operation()
        except RaglineError:
            raise
        except Exception as exc:
            if is_transient(exc) and retry < policy.attempts:
                retry += 1
                if metrics is not None:
                    metrics.upstream_retries.labels(breaker.name).inc()
                log.warning(
                    "transient upstream error; retrying",
                    upstream=breaker.name,
                    retry=retry,
                    error=type(exc).__name__,
                )
                await asyncio.sleep(policy.delay(retry))
                continue
            if metrics is not None:
                metrics.upstream_calls.labels(breaker.name, "error").inc()
            raise upstream_problem(exc, upstream=breaker.name) from exc
        if metrics is not None:
            metrics.upstream_calls.labels(breaker.name, "ok").inc()
        return result
