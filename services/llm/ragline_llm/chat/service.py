"""The chat loop: budget, context, model rounds, tool calls, usage — as a stream of events.

The same loop serves whole and streamed answers: the endpoint either collects the events into
one response or sends them as server-sent events. Each round checks the budget and the breaker,
calls the model, spends the tokens, and either finishes or runs the requested tools and goes
round again; the last allowed round offers no tools, so the model has to answer in words.

The database work between two model calls is one tenant transaction (a
:class:`~ragline_common.db.TenantSession` on the driver: ``BEGIN`` and the tenant scope in one
round trip): the conversation, the budget check and the context search before the first call;
the budget check, the tools and their events before each further call. No transaction stays
open while the model answers — that would hold a pooled connection (and the conversation's row
lock) for as long as the model takes. A plain answer is one transaction; its tokens are written
afterwards, off the request's path (:class:`~ragline_llm.budget.TokenLedger`).

The first transaction's ``COMMIT`` is sent as the first model call starts, and awaited before
anything is yielded: the round trip overlaps the wait for the model instead of adding to it, and
a commit that fails still fails the request before it has answered.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncGenerator, Sequence
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncEngine

from ragline_common.auth import Principal
from ragline_common.db import TenantSession, tenant_session
from ragline_common.errors import RaglineError, UnprocessableError
from ragline_common.logs import get_logger
from ragline_common.registry import TenantEntry, Tool
from ragline_llm.budget import TokenLedger
from ragline_llm.chat import prompt
from ragline_llm.chat.rounds import RoundRunner
from ragline_llm.chat.schemas import (
    AssistantMessage,
    ChatCreate,
    ChatPublic,
    ToolCallPublic,
    ToolChoiceFunction,
    UsagePublic,
)
from ragline_llm.errors import UpstreamError
from ragline_llm.providers.chat import ContentDelta, ModelReply, ModelRequest, ToolCall, Usage
from ragline_llm.rag.context import fit_context, fit_history, message_tokens
from ragline_llm.rag.search import SearchFilter, SearchOptions
from ragline_llm.rag.store import KnowledgeStore
from ragline_llm.settings import LlmSettings
from ragline_llm.tokens import estimate_tokens
from ragline_llm.tools.runner import ToolContext, ToolOutcome, ToolRunner
from ragline_llm.tools.specs import definitions_tokens, tool_definitions

log = get_logger(__name__)


@dataclass(frozen=True)
class Delta:
    """A piece of the answer's text."""

    text: str


@dataclass(frozen=True)
class ToolCalled:
    """The model asked for a tool."""

    call: ToolCall


@dataclass(frozen=True)
class ToolAnswered:
    """A tool call finished."""

    outcome: ToolOutcome


@dataclass(frozen=True)
class Finished:
    """The whole answer."""

    answer: ChatPublic


ChatEvent = Delta | ToolCalled | ToolAnswered | Finished


@dataclass(frozen=True)
class Caller:
    """Who asks: the verified principal, their token (forwarded by ``confirm``), their tenant."""

    principal: Principal
    token: str
    tenant: TenantEntry


class ChatService:
    """Answers chat requests."""

    def __init__(
        self,
        *,
        rounds: RoundRunner,
        ledger: TokenLedger,
        tools: ToolRunner,
        store: KnowledgeStore,
        settings: LlmSettings,
        engine: AsyncEngine,
        db_role: str | None,
    ) -> None:
        self.rounds = rounds
        self.ledger = ledger
        self.tools = tools
        self.store = store
        self.settings = settings
        self.engine = engine
        self.db_role = db_role

    def _transaction(self, tenant_id: str) -> AbstractAsyncContextManager[TenantSession]:
        return tenant_session(self.engine, tenant_id=tenant_id, role=self.db_role)

    async def _admit(
        self,
        request: ChatCreate,
        caller: Caller,
        tools: list[dict[str, Any]],
        *,
        conversation_id: str,
    ) -> tuple[list[dict[str, Any]], asyncio.Task[None]]:
        """Open the conversation, check the budget and the breaker, build the first messages;
        return them and the task committing that transaction (see the module's docstring)."""
        session = TenantSession(
            self.engine, tenant_id=caller.principal.tenant_id, role=self.db_role
        )
        try:
            await self.ledger.admit(
                session,
                conversation_id,
                user_id=caller.principal.user_id,
                limit=caller.tenant.limits.llm_tokens_per_day,
                now=datetime.now(UTC),
            )
            self.rounds.breaker.check()
            messages = await self._messages(request, caller, tools, session)
        except BaseException:
            await session.rollback()
            await session.close()
            raise
        return messages, asyncio.create_task(_commit(session))

    def _tools_offered(self, request: ChatCreate, enabled: frozenset[Tool]) -> list[dict[str, Any]]:
        choice = request.tool_choice
        if isinstance(choice, ToolChoiceFunction) and choice.function.name not in enabled:
            raise UnprocessableError(f"tool {choice.function.name} is not enabled for this tenant")
        if choice == "none":
            return []
        return tool_definitions(enabled)

    async def _messages(
        self,
        request: ChatCreate,
        caller: Caller,
        tools: list[dict[str, Any]],
        session: TenantSession,
    ) -> list[dict[str, Any]]:
        history = [message.upstream() for message in request.messages]
        instructions = prompt.system_prompt(caller.tenant.display_name or caller.tenant.tenant_id)
        window = self.settings.context_tokens - self._max_tokens(request)
        tools_tokens = definitions_tokens(frozenset(caller.tenant.tools)) if tools else 0
        window -= estimate_tokens(instructions) + tools_tokens
        history, used = fit_history(history, available=window)
        hits = []
        query = prompt.last_user_text(history)
        if query:
            try:
                hits = await self.store.retrieve(
                    session,
                    query,
                    filters=SearchFilter(),
                    options=SearchOptions(
                        limit=self.settings.retrieval_top_k,
                        min_score=self.settings.retrieval_min_score,
                    ),
                )
            except RaglineError as exc:
                # Answering without context beats not answering: the model says what it lacks.
                log.warning("context retrieval failed; answering without", error=exc.detail)
        context = fit_context(hits, available=window - used)
        return [{"role": "system", "content": prompt.with_context(instructions, context)}, *history]

    def _max_tokens(self, request: ChatCreate) -> int:
        return min(
            request.max_tokens or self.settings.max_output_tokens, self.settings.max_output_tokens
        )

    def _model_request(
        self,
        request: ChatCreate,
        messages: list[dict[str, Any]],
        tools: list[dict[str, Any]],
        *,
        round_no: int,
    ) -> ModelRequest:
        last = round_no == self.settings.max_tool_rounds - 1
        choice: str | dict[str, Any] | None = None
        if round_no == 0 and request.tool_choice is not None:
            tc = request.tool_choice
            choice = tc.model_dump() if isinstance(tc, ToolChoiceFunction) else tc
        return ModelRequest(
            messages=list(messages),
            tools=[] if last else tools,
            tool_choice=choice,
            max_tokens=self._max_tokens(request),
            temperature=request.temperature
            if request.temperature is not None
            else self.settings.temperature,
        )

    async def run(
        self, request: ChatCreate, caller: Caller, *, stream: bool
    ) -> AsyncGenerator[ChatEvent, None]:
        """Answer ``request``; yield text deltas (streamed only), tool events and the answer."""
        conversation_id = request.conversation_id or uuid.uuid4().hex
        tools = self._tools_offered(request, frozenset(caller.tenant.tools))
        messages, committing = await self._admit(
            request, caller, tools, conversation_id=conversation_id
        )
        try:
            async for event in self._rounds(
                request,
                caller,
                messages,
                tools,
                conversation_id=conversation_id,
                stream=stream,
                committing=committing,
            ):
                yield event
        finally:
            # Whatever ended the answer (an upstream failure, the client leaving), the commit
            # has ended too, and a failure of it is not left unseen.
            await asyncio.shield(committing)

    async def _rounds(
        self,
        request: ChatCreate,
        caller: Caller,
        messages: list[dict[str, Any]],
        tools: list[dict[str, Any]],
        *,
        conversation_id: str,
        stream: bool,
        committing: asyncio.Task[None],
    ) -> AsyncGenerator[ChatEvent, None]:
        tenant_id = caller.principal.tenant_id
        limit = caller.tenant.limits.llm_tokens_per_day
        context = ToolContext(
            tenant_id=tenant_id,
            user_id=caller.principal.user_id,
            conversation_id=conversation_id,
            bearer_token=caller.token,
            enabled=frozenset(caller.tenant.tools),
        )
        calls: list[ToolCallPublic] = []
        spent = Usage(0, 0)
        for round_no in range(self.settings.max_tool_rounds):
            model_request = self._model_request(request, messages, tools, round_no=round_no)
            reply = None
            async for event in self._round(model_request, stream=stream):
                # Before anything is answered or spent (the spend updates the conversation this
                # commit may create); at once once done. Shielded: a client leaving meanwhile
                # does not cancel the commit of what has been done.
                await asyncio.shield(committing)
                if isinstance(event, ModelReply):
                    reply = event
                else:
                    yield event
            if reply is None:  # a ChatModel's stream always ends with its reply
                raise UpstreamError("the chat upstream's answer ended without a reply")
            usage = reply.usage or _estimate(model_request.messages, reply)
            spent = Usage(
                spent.prompt_tokens + usage.prompt_tokens,
                spent.completion_tokens + usage.completion_tokens,
            )
            self.ledger.spend(
                tenant_id,
                conversation_id,
                prompt_tokens=usage.prompt_tokens,
                completion_tokens=usage.completion_tokens,
                now=datetime.now(UTC),
            )
            if not reply.tool_calls or round_no == self.settings.max_tool_rounds - 1:
                yield Finished(self._answer(conversation_id, reply, calls, spent))
                return
            messages.append(_assistant(reply))
            async with self._transaction(tenant_id) as session:
                # Checked before the tools run: no order is placed for an answer that would
                # not be given.
                await self.ledger.ensure_available(session, limit=limit, now=datetime.now(UTC))
                async for tool_event in self._run_tools(reply, context, calls, session):
                    if isinstance(tool_event, ToolAnswered):
                        messages.append(tool_event.outcome.message())
                    yield tool_event

    async def _round(
        self, request: ModelRequest, *, stream: bool
    ) -> AsyncGenerator[Delta | ModelReply, None]:
        if not stream:
            yield await self.rounds.complete(request)
            return
        async for piece in self.rounds.stream(request):
            yield Delta(piece.text) if isinstance(piece, ContentDelta) else piece

    async def _run_tools(
        self,
        reply: ModelReply,
        context: ToolContext,
        calls: list[ToolCallPublic],
        session: TenantSession,
    ) -> AsyncGenerator[ToolCalled | ToolAnswered, None]:
        for call in reply.tool_calls:
            yield ToolCalled(call)
            outcome = await self.tools.run(call, context, session)
            calls.append(
                ToolCallPublic(
                    id=call.id,
                    name=call.name,
                    arguments=call.arguments,
                    status=outcome.status.value,
                    result=outcome.result,
                )
            )
            yield ToolAnswered(outcome)

    def _answer(
        self, conversation_id: str, reply: ModelReply, calls: list[ToolCallPublic], spent: Usage
    ) -> ChatPublic:
        finish_reason = reply.finish_reason
        if reply.tool_calls:
            finish_reason = "tool_rounds_exhausted"
        return ChatPublic(
            id=f"chat-{uuid.uuid4().hex}",
            conversation_id=conversation_id,
            model=self.rounds.model.model,
            created=int(time.time()),
            message=AssistantMessage(content=reply.content),
            finish_reason=finish_reason,
            tool_calls=calls,
            usage=UsagePublic(
                prompt_tokens=spent.prompt_tokens,
                completion_tokens=spent.completion_tokens,
                total_tokens=spent.prompt_tokens + spent.completion_tokens,
            ),
        )


async def _commit(session: TenantSession) -> None:
    try:
        await session.commit()
    except BaseException:
        await session.rollback()
        raise
    finally:
        await session.close()


def _assistant(reply: ModelReply) -> dict[str, Any]:
    return {
        "role": "assistant",
        "content": reply.content or None,
        "tool_calls": [
            {"id": c.id, "type": "function", "function": {"name": c.name, "arguments": c.arguments}}
            for c in reply.tool_calls
        ],
    }


def _estimate(messages: Sequence[dict[str, Any]], reply: ModelReply) -> Usage:
    completion = estimate_tokens(reply.content) + sum(
        estimate_tokens(c.name) + estimate_tokens(c.arguments) for c in reply.tool_calls
    )
    return Usage(sum(message_tokens(m) for m in messages), completion)
