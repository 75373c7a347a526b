"""Errors of the LLM service beyond the shared hierarchy: upstream failures and budgets.

:mod:`ragline_common.errors` has no 502/504 problems and its 503 carries no ``Retry-After``, so
they live here (they are plain :class:`RaglineError` subclasses, rendered by the shared handlers).
"""

from __future__ import annotations

from ragline_common.errors import RaglineError


class UpstreamError(RaglineError):
    """The model or embedding endpoint failed or answered something unusable."""

    status, title, slug = 502, "Bad gateway", "upstream-failed"


class UpstreamTimeoutError(RaglineError):
    """The model or embedding endpoint did not answer in time."""

    status, title, slug = 504, "Gateway timeout", "upstream-timeout"


class UpstreamUnavailableError(RaglineError):
    """A circuit breaker is open: the upstream is not called until it has had time to recover."""

    status, title, slug = 503, "Service unavailable", "upstream-unavailable"

    def __init__(self, upstream: str, *, retry_after_seconds: int) -> None:
        super().__init__(
            f"the {upstream} upstream is unavailable; retry in {retry_after_seconds}s",
            headers={"Retry-After": str(retry_after_seconds)},
        )
        self.upstream = upstream
        self.retry_after_seconds = retry_after_seconds


class BudgetExhaustedError(RaglineError):
    """The tenant has spent its daily token budget."""

    status, title, slug = 429, "Too many requests", "token-budget-exhausted"

    def __init__(self, *, limit: int, retry_after_seconds: int) -> None:
        super().__init__(
            f"the tenant's daily budget of {limit} tokens is spent; it renews at 00:00 UTC",
            headers={"Retry-After": str(retry_after_seconds)},
        )
        self.retry_after_seconds = retry_after_seconds


class ContextTooLongError(RaglineError):
    """Even the last message alone does not fit in the model's context window."""

    status, title, slug = 413, "Payload too large", "context-too-long"
