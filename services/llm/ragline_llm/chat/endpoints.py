"""``POST /v1/chat``: answer whole (JSON) or stream (server-sent events)."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncGenerator, AsyncIterator
from contextlib import aclosing
from typing import Any

from fastapi import APIRouter
from sse_starlette import EventSourceResponse, ServerSentEvent
from starlette.responses import JSONResponse, Response

from ragline_common.errors import RaglineError, problem_body, problem_responses
from ragline_common.logs import get_logger
from ragline_llm.chat.schemas import SSE_DESCRIPTION, ChatCreate, ChatPublic
from ragline_llm.chat.service import ChatEvent, Delta, Finished, ToolAnswered, ToolCalled
from ragline_llm.deps import CallerDep, StateDep
from ragline_llm.metrics import LlmMetrics

router = APIRouter(prefix="/v1", tags=["chat"])
log = get_logger(__name__)


def _sse(event: ChatEvent) -> ServerSentEvent:
    if isinstance(event, Delta):
        return ServerSentEvent(event="delta", data=json.dumps({"content": event.text}))
    if isinstance(event, ToolCalled):
        call = event.call
        data: dict[str, Any] = {"id": call.id, "name": call.name, "arguments": call.arguments}
        return ServerSentEvent(event="tool_call", data=json.dumps(data))
    if isinstance(event, ToolAnswered):
        outcome = event.outcome
        data = {
            "id": outcome.call.id,
            "name": outcome.call.name,
            "status": outcome.status.value,
            "result": outcome.result,
        }
        return ServerSentEvent(event="tool_result", data=json.dumps(data))
    return ServerSentEvent(event="message", data=event.answer.model_dump_json())


async def _stream(
    first: ChatEvent,
    events: AsyncGenerator[ChatEvent, None],
    *,
    metrics: LlmMetrics,
    started: float,
) -> AsyncIterator[ServerSentEvent]:
    """Send ``first`` and the rest; any failure becomes a final ``error`` event."""
    seen_text = False
    try:
        event: ChatEvent | None = first
        while event is not None:
            if isinstance(event, Delta) and not seen_text:
                seen_text = True
                metrics.time_to_first_token.observe(time.perf_counter() - started)
            yield _sse(event)
            if isinstance(event, Finished):
                return
            # One event per turn of the event loop: chunks the upstream sent together are all
            # ready at once, and without this pause a burst would keep every other task (other
            # requests, the transport flushing what it buffered) waiting until its end.
            await asyncio.sleep(0)
            event = await anext(events, None)
    except RaglineError as exc:
        yield ServerSentEvent(event="error", data=json.dumps(problem_body(exc)))
    except Exception:
        log.exception("chat stream failed")
        yield ServerSentEvent(event="error", data=json.dumps(problem_body(RaglineError())))
    finally:
        await events.aclose()


@router.post(
    "/chat",
    response_model=ChatPublic,
    summary="Chat with the tenant's assistant",
    description=SSE_DESCRIPTION,
    responses={
        200: {"content": {"text/event-stream": {"schema": {"type": "string"}}}},
        **problem_responses(401, 403, 404, 413, 422, 429, 502, 503, 504),
    },
)
async def chat(body: ChatCreate, caller: CallerDep, state: StateDep) -> Response:
    started = time.perf_counter()
    events = state.chat.run(body, caller, stream=body.stream)
    if not body.stream:
        async with aclosing(events) as answer:
            async for event in answer:
                if isinstance(event, Finished):
                    return JSONResponse(event.answer.model_dump(mode="json"))
        raise RaglineError("the answer ended without a message")
    # Failures before the first event still get a status code and a problem document.
    try:
        first = await anext(events)
    except BaseException:
        await events.aclose()
        raise
    return EventSourceResponse(
        _stream(first, events, metrics=state.metrics, started=started),
        ping=int(state.settings.sse_ping_seconds),
    )
