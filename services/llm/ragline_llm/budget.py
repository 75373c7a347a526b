"""Per-tenant token accounting: the daily budget from the registry, conversations, metrics.

Usage is kept per tenant and UTC day in ``llm_token_usage`` (shared by every replica) and per
conversation in ``llm_conversations``. A chat is refused with 429 once the day's tokens reach
``limits.llmTokensPerDay``; ``Retry-After`` points at the next UTC midnight. The check runs
before every model call, so a request can overshoot the budget by at most one model call's
tokens (at most the context window): the price of not reserving tokens up front.

A model call's tokens are written off the request's path: :meth:`TokenLedger.spend` counts them
at once (metrics, and *pending* tokens of this process) and writes them in a background task,
so the answer does not wait for the write. Until a write has committed, the budget check adds
the tenant's pending tokens to what the table says, so the budget holds even for requests that
follow each other faster than the writes. A write that fails is logged and counted
(``ragline_llm_token_write_failures_total``); its tokens then drop out of the pending count —
they are lost from the budget, which must not stay stuck on an in-process figure no other
replica sees. Shutdown waits for the writes in flight (:meth:`TokenLedger.drain`).

Counts are the upstream's ``usage`` figures when it sends them, else estimates.
"""

from __future__ import annotations

import asyncio
import math
from datetime import UTC, date, datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncEngine

from ragline_common.db import TenantSession, tenant_session
from ragline_common.errors import NotFoundError
from ragline_common.logs import get_logger
from ragline_llm.db import APP_ROLE
from ragline_llm.errors import BudgetExhaustedError
from ragline_llm.metrics import LlmMetrics

log = get_logger(__name__)


def seconds_until_midnight(now: datetime) -> int:
    """Whole seconds until the next 00:00 UTC (at least 1)."""
    tomorrow = datetime.combine(now.date() + timedelta(days=1), datetime.min.time(), tzinfo=UTC)
    return max(1, math.ceil((tomorrow - now).total_seconds()))


class TokenLedger:
    """Reads the token counters in the caller's session; adds to them in the background."""

    def __init__(
        self, engine: AsyncEngine, *, metrics: LlmMetrics, db_role: str | None = APP_ROLE
    ) -> None:
        self.engine = engine
        self.metrics = metrics
        self.db_role = db_role
        self._pending: dict[tuple[str, date], int] = {}
        self._writes: set[asyncio.Task[None]] = set()

    def pending(self, tenant_id: str, *, day: date) -> int:
        """Tokens of ``day`` this process counted but has not written yet."""
        return self._pending.get((tenant_id, day), 0)

    def _refuse(self, tenant_id: str, *, limit: int, now: datetime) -> BudgetExhaustedError:
        self.metrics.budget_refusals.labels(tenant_id).inc()
        return BudgetExhaustedError(limit=limit, retry_after_seconds=seconds_until_midnight(now))

    async def ensure_available(self, session: TenantSession, *, limit: int, now: datetime) -> None:
        """Raise :class:`BudgetExhaustedError` (429) if the session's tenant's day is spent."""
        tenant_id = session.tenant_id
        driver = await session.driver()
        used = int(await driver.fetchval(_USED, tenant_id, now.date()) or 0)
        if used + self.pending(tenant_id, day=now.date()) >= limit:
            raise self._refuse(tenant_id, limit=limit, now=now)

    async def admit(
        self,
        session: TenantSession,
        conversation_id: str,
        *,
        user_id: str,
        limit: int,
        now: datetime,
    ) -> None:
        """Open (or touch) the conversation and check the budget, in one round trip.

        Another user's conversation is not found (404); a spent day is 429.
        """
        tenant_id = session.tenant_id
        driver = await session.driver()
        row = await driver.fetchrow(_ADMIT, tenant_id, conversation_id, user_id, now.date())
        if row["owner"] != user_id:
            raise NotFoundError("no such conversation")
        if row["used"] + self.pending(tenant_id, day=now.date()) >= limit:
            raise self._refuse(tenant_id, limit=limit, now=now)

    def spend(
        self,
        tenant_id: str,
        conversation_id: str,
        *,
        prompt_tokens: int,
        completion_tokens: int,
        now: datetime,
    ) -> None:
        """Count one model call's tokens now; write them to the tenant's day and to the
        conversation in the background."""
        self.metrics.tokens.labels(tenant_id, "prompt").inc(prompt_tokens)
        self.metrics.tokens.labels(tenant_id, "completion").inc(completion_tokens)
        key = (tenant_id, now.date())
        self._pending[key] = self._pending.get(key, 0) + prompt_tokens + completion_tokens
        write = asyncio.create_task(
            self._write(
                key,
                conversation_id,
                prompt_tokens=prompt_tokens,
                completion_tokens=completion_tokens,
            )
        )
        self._writes.add(write)
        write.add_done_callback(self._writes.discard)

    async def _write(
        self,
        key: tuple[str, date],
        conversation_id: str,
        *,
        prompt_tokens: int,
        completion_tokens: int,
    ) -> None:
        tenant_id, day = key
        try:
            async with tenant_session(self.engine, tenant_id=tenant_id, role=self.db_role) as s:
                driver = await s.driver()
                await driver.execute(
                    _SPEND, tenant_id, conversation_id, day, prompt_tokens, completion_tokens
                )
        except Exception as exc:
            self.metrics.token_write_failures.inc()
            log.warning(
                "writing token usage failed; these tokens are not in the budget",
                tenant_id=tenant_id,
                tokens=prompt_tokens + completion_tokens,
                error=type(exc).__name__,
            )
        finally:
            left = self._pending[key] - prompt_tokens - completion_tokens
            if left:
                self._pending[key] = left
            else:
                del self._pending[key]

    async def drain(self) -> None:
        """Wait until every token write started so far has ended."""
        while self._writes:
            await asyncio.gather(*self._writes)


_USED = (
    "SELECT prompt_tokens + completion_tokens FROM llm_token_usage"
    " WHERE tenant_id = $1 AND day = $2"
)
_ADMIT = (
    "WITH conversation AS ("
    " INSERT INTO llm_conversations (tenant_id, conversation_id, user_id) VALUES ($1, $2, $3)"
    " ON CONFLICT (tenant_id, conversation_id) DO UPDATE SET updated_at = now()"
    " RETURNING user_id)"
    " SELECT (SELECT user_id FROM conversation) AS owner, coalesce((SELECT prompt_tokens"
    " + completion_tokens FROM llm_token_usage WHERE tenant_id = $1 AND day = $4), 0) AS used"
)
# One statement, so both counters move together (a statement is atomic).
_SPEND = (
    "WITH day AS ("
    " INSERT INTO llm_token_usage AS u (tenant_id, day, prompt_tokens, completion_tokens,"
    " requests) VALUES ($1, $3, $4, $5, 1) ON CONFLICT (tenant_id, day) DO UPDATE SET"
    " prompt_tokens = u.prompt_tokens + EXCLUDED.prompt_tokens,"
    " completion_tokens = u.completion_tokens + EXCLUDED.completion_tokens,"
    " requests = u.requests + 1)"
    " UPDATE llm_conversations SET turns = turns + 1, prompt_tokens = prompt_tokens + $4,"
    " completion_tokens = completion_tokens + $5, updated_at = now()"
    " WHERE tenant_id = $1 AND conversation_id = $2"
)
