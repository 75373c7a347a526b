"""Running the model's tool calls: refuse what the tenant has not enabled, validate the
arguments, run the tool, record a ``chat.tool.v1`` event, count it.

A tool's failure is the model's to explain, not the request's: it becomes an ``error`` result
the model reads (and the event records), and the conversation goes on.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import httpx
from pydantic import BaseModel, ValidationError

from ragline_common.db import TenantSession
from ragline_common.errors import RaglineError
from ragline_common.registry import Tool
from ragline_llm.metrics import LlmMetrics
from ragline_llm.providers.chat import ToolCall
from ragline_llm.rag.store import KnowledgeStore
from ragline_llm.settings import LlmSettings
from ragline_llm.tools import events
from ragline_llm.tools.confirm import ConfirmError, ConfirmTarget, confirm
from ragline_llm.tools.events import ChatToolV1, ToolCallStatus
from ragline_llm.tools.menu import retrieve_menu
from ragline_llm.tools.quote import apply_promos
from ragline_llm.tools.specs import ARGUMENTS, ApplyPromosArgs, ConfirmArgs, RetrieveMenuArgs


@dataclass(frozen=True)
class ToolContext:
    """Who the tools act for, in which conversation, with which tools enabled."""

    tenant_id: str
    user_id: str
    conversation_id: str
    bearer_token: str
    enabled: frozenset[Tool]


@dataclass(frozen=True)
class ToolOutcome:
    """A finished tool call."""

    call: ToolCall
    status: ToolCallStatus
    result: dict[str, Any]

    def message(self) -> dict[str, Any]:
        """The ``tool`` message that hands the result to the model."""
        return {"role": "tool", "tool_call_id": self.call.id, "content": json.dumps(self.result)}


def _arguments(raw: str) -> dict[str, Any] | None:
    try:
        parsed = json.loads(raw or "{}")
    except ValueError:
        return None
    return parsed if isinstance(parsed, dict) else None


def _tool(name: str) -> Tool | None:
    try:
        return Tool(name)
    except ValueError:
        return None


class ToolRunner:
    """Runs tool calls against the store, the database and the API."""

    def __init__(
        self,
        *,
        store: KnowledgeStore,
        http: httpx.AsyncClient,
        settings: LlmSettings,
        metrics: LlmMetrics,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.store = store
        self.http = http
        self.settings = settings
        self.metrics = metrics
        self.clock = clock

    async def run(self, call: ToolCall, ctx: ToolContext, session: TenantSession) -> ToolOutcome:
        """Run ``call`` for ``ctx`` in the tenant's ``session`` (which records its event); never
        raises for a failure of the tool itself."""
        started = time.perf_counter()
        arguments = _arguments(call.arguments)
        tool = _tool(call.name)
        key: str | None = None
        if tool is None or tool not in ctx.enabled:
            status, result = ToolCallStatus.REFUSED, {"error": f"tool {call.name} is not available"}
        elif arguments is None:
            status, result = ToolCallStatus.ERROR, {"error": "arguments are not a JSON object"}
        else:
            try:
                args = ARGUMENTS[tool].model_validate(arguments)
                result, key = await self._dispatch(tool, args, ctx, session)
                status = ToolCallStatus.OK
            except ValidationError as exc:
                fields = sorted({".".join(map(str, e["loc"])) or "arguments" for e in exc.errors()})
                status, result = ToolCallStatus.ERROR, {"error": f"invalid {', '.join(fields)}"}
            except (ConfirmError, RaglineError) as exc:
                status, result = ToolCallStatus.ERROR, {"error": str(exc)}
        duration_ms = (time.perf_counter() - started) * 1000
        await self._record(
            call,
            ctx,
            session,
            status=status,
            arguments=arguments or {},
            result=result,
            key=key,
            duration_ms=duration_ms,
        )
        self.metrics.tool_calls.labels(tool.value if tool else "unknown", status.value).inc()
        return ToolOutcome(call=call, status=status, result=result)

    async def _dispatch(
        self, tool: Tool, args: BaseModel, ctx: ToolContext, session: TenantSession
    ) -> tuple[dict[str, Any], str | None]:
        now = self.clock()
        if isinstance(args, RetrieveMenuArgs):
            found = await retrieve_menu(
                self.store,
                session,
                args,
                now=now,
                min_score=self.settings.retrieval_min_score,
            )
            return found, None
        if isinstance(args, ApplyPromosArgs):
            quote = await apply_promos(session, args.items, now=now)
            return quote, None
        if isinstance(args, ConfirmArgs):
            target = ConfirmTarget(
                client=self.http,
                api_url=self.settings.api_url,
                bearer_token=ctx.bearer_token,
                attempts=self.settings.confirm_attempts,
            )
            return await confirm(
                session,
                target,
                args.items,
                user_id=ctx.user_id,
                conversation_id=ctx.conversation_id,
            )
        raise AssertionError(f"no dispatch for {tool}")

    async def _record(
        self,
        call: ToolCall,
        ctx: ToolContext,
        session: TenantSession,
        *,
        status: ToolCallStatus,
        arguments: dict[str, Any],
        result: dict[str, Any],
        key: str | None,
        duration_ms: float,
    ) -> None:
        event = ChatToolV1(
            conversation_id=ctx.conversation_id,
            call_id=call.id,
            tool=call.name,
            status=status,
            user_id=ctx.user_id,
            arguments=arguments,
            result=result,
            idempotency_key=key,
            duration_ms=duration_ms,
            occurred_at=self.clock(),
        )
        await events.record(session, event, source=self.settings.event_source)
