"""One model call ("round"), whole or streamed, under the chat breaker with retries.

A whole answer is retried like any upstream call (:func:`ragline_llm.retry.call_upstream`). A
stream is retried only until its first piece of text has gone to the client: after that a retry
would repeat text, so a failure ends the stream with an error instead. Every wait for the next
chunk is bounded by the round's deadline (and the client's read timeout), so a stalled upstream
ends the round with a timeout — never a hang.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncGenerator
from contextlib import aclosing
from dataclasses import dataclass

from ragline_common.errors import RaglineError
from ragline_common.logs import get_logger
from ragline_llm.breakers import UpstreamBreaker
from ragline_llm.metrics import LlmMetrics
from ragline_llm.providers.chat import (
    ChatModel,
    ContentDelta,
    ModelReply,
    ModelRequest,
    StreamPiece,
)
from ragline_llm.retry import RetryPolicy, call_upstream, is_transient, upstream_problem

log = get_logger(__name__)


@dataclass(frozen=True)
class RoundRunner:
    """Runs model calls for the chat service."""

    model: ChatModel
    breaker: UpstreamBreaker
    policy: RetryPolicy
    metrics: LlmMetrics
    deadline_seconds: float

    async def complete(self, request: ModelRequest) -> ModelReply:
        """One whole answer."""
        started = time.perf_counter()

        async def operation() -> ModelReply:
            return await asyncio.wait_for(self.model.complete(request), self.deadline_seconds)

        try:
            return await call_upstream(
                operation, breaker=self.breaker, policy=self.policy, metrics=self.metrics
            )
        finally:
            self.metrics.upstream_duration.labels("chat").observe(time.perf_counter() - started)

    async def stream(self, request: ModelRequest) -> AsyncGenerator[StreamPiece, None]:
        """Stream one answer: text pieces, then the assembled reply."""
        retry = 0
        while True:
            sent_text = False
            started = time.perf_counter()
            try:
                async with aclosing(self._attempt(request)) as attempt:
                    async for piece in attempt:
                        sent_text = sent_text or isinstance(piece, ContentDelta)
                        yield piece
            except RaglineError:
                self.metrics.upstream_calls.labels("chat", "rejected").inc()
                raise
            except Exception as exc:
                if not sent_text and is_transient(exc) and retry < self.policy.attempts:
                    retry += 1
                    self.metrics.upstream_retries.labels("chat").inc()
                    log.warning("transient error before the stream began; retrying", retry=retry)
                    await asyncio.sleep(self.policy.delay(retry))
                    continue
                self.metrics.upstream_calls.labels("chat", "error").inc()
                raise upstream_problem(exc, upstream="chat") from exc
            self.metrics.upstream_calls.labels("chat", "ok").inc()
            self.metrics.upstream_duration.labels("chat").observe(time.perf_counter() - started)
            return

    async def _attempt(self, request: ModelRequest) -> AsyncGenerator[StreamPiece, None]:
        deadline = asyncio.get_running_loop().time() + self.deadline_seconds
        with self.breaker.guard():
            pieces = self.model.stream(request)
            try:
                while True:
                    async with asyncio.timeout_at(deadline):
                        try:
                            piece = await anext(pieces)
                        except StopAsyncIteration:
                            break
                    yield piece
            finally:
                await pieces.aclose()
