"""Per-tenant token accounting: the daily budget from the registry, conversations, metrics.

Usage is kept per tenant and UTC day in ``llm_token_usage`` (shared by every replica) and per
conversation in ``llm_conversations``. A chat is refused with 429 once the day's tokens reach
``limits.llmTokensPerDay``; ``Retry-After`` points at the next UTC midnight. The check runs
before every model call, so a request can overshoot the budget by at most one model call's
tokens (at most the context window): the price of not reserving tokens up front.

Counts are the upstream's ``usage`` figures when it sends them, else estimates.
"""

from __future__ import annotations

import math
from datetime import UTC, date, datetime, timedelta

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from ragline_common.errors import NotFoundError
from ragline_llm.db import APP_ROLE, tenant_scope
from ragline_llm.errors import BudgetExhaustedError
from ragline_llm.metrics import LlmMetrics


def seconds_until_midnight(now: datetime) -> int:
    """Whole seconds until the next 00:00 UTC (at least 1)."""
    tomorrow = datetime.combine(now.date() + timedelta(days=1), datetime.min.time(), tzinfo=UTC)
    return max(1, math.ceil((tomorrow - now).total_seconds()))


class TokenLedger:
    """Reads and adds to the token counters (one statement per call, in the tenant's scope)."""

    def __init__(
        self, engine: AsyncEngine, *, metrics: LlmMetrics, db_role: str | None = APP_ROLE
    ) -> None:
        self.engine = engine
        self.metrics = metrics
        self.db_role = db_role

    async def used_today(self, tenant_id: str, *, today: date) -> int:
        """Tokens the tenant spent on ``today`` (UTC)."""
        async with tenant_scope(self.engine, tenant_id=tenant_id, role=self.db_role) as conn:
            used = (await conn.execute(_USED, {"t": tenant_id, "d": today})).scalar()
        return int(used or 0)

    def _refuse(self, tenant_id: str, *, limit: int, now: datetime) -> BudgetExhaustedError:
        self.metrics.budget_refusals.labels(tenant_id).inc()
        return BudgetExhaustedError(limit=limit, retry_after_seconds=seconds_until_midnight(now))

    async def ensure_available(self, tenant_id: str, *, limit: int, now: datetime) -> None:
        """Raise :class:`BudgetExhaustedError` (429) if the tenant's day is spent."""
        if await self.used_today(tenant_id, today=now.date()) >= limit:
            raise self._refuse(tenant_id, limit=limit, now=now)

    async def admit(
        self, tenant_id: str, conversation_id: str, *, user_id: str, limit: int, now: datetime
    ) -> None:
        """Open (or touch) the conversation and check the budget, in one round trip.

        Another user's conversation is not found (404); a spent day is 429.
        """
        params = {"t": tenant_id, "c": conversation_id, "u": user_id, "d": now.date()}
        async with tenant_scope(self.engine, tenant_id=tenant_id, role=self.db_role) as conn:
            row = (await conn.execute(_ADMIT, params)).one()
        if row.owner != user_id:
            raise NotFoundError("no such conversation")
        if row.used >= limit:
            raise self._refuse(tenant_id, limit=limit, now=now)

    async def spend(
        self,
        tenant_id: str,
        conversation_id: str,
        *,
        prompt_tokens: int,
        completion_tokens: int,
        now: datetime,
    ) -> None:
        """Add one model call's tokens to the tenant's day and to the conversation."""
        self.metrics.tokens.labels(tenant_id, "prompt").inc(prompt_tokens)
        self.metrics.tokens.labels(tenant_id, "completion").inc(completion_tokens)
        params = {
            "t": tenant_id,
            "c": conversation_id,
            "d": now.date(),
            "p": prompt_tokens,
            "k": completion_tokens,
        }
        async with tenant_scope(self.engine, tenant_id=tenant_id, role=self.db_role) as conn:
            await conn.execute(_SPEND, params)


_USED = text(
    "SELECT prompt_tokens + completion_tokens FROM llm_token_usage"
    " WHERE tenant_id = :t AND day = :d"
)
_ADMIT = text(
    "WITH conversation AS ("
    " INSERT INTO llm_conversations (tenant_id, conversation_id, user_id) VALUES (:t, :c, :u)"
    " ON CONFLICT (tenant_id, conversation_id) DO UPDATE SET updated_at = now()"
    " RETURNING user_id)"
    " SELECT (SELECT user_id FROM conversation) AS owner, coalesce((SELECT prompt_tokens"
    " + completion_tokens FROM llm_token_usage WHERE tenant_id = :t AND day = :d), 0) AS used"
)
# One statement, so both counters move together (a statement is atomic).
_SPEND = text(
    "WITH day AS ("
    " INSERT INTO llm_token_usage AS u (tenant_id, day, prompt_tokens, completion_tokens,"
    " requests) VALUES (:t, :d, :p, :k, 1) ON CONFLICT (tenant_id, day) DO UPDATE SET"
    " prompt_tokens = u.prompt_tokens + EXCLUDED.prompt_tokens,"
    " completion_tokens = u.completion_tokens + EXCLUDED.completion_tokens,"
    " requests = u.requests + 1)"
    " UPDATE llm_conversations SET turns = turns + 1, prompt_tokens = prompt_tokens + :p,"
    " completion_tokens = completion_tokens + :k, updated_at = now()"
    " WHERE tenant_id = :t AND conversation_id = :c"
)
