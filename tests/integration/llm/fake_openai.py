"""An OpenAI-wire-compatible server for tests, scripted per test.

It implements ``POST /v1/chat/completions`` (whole and streamed, text and tool calls, with
``usage``) and ``POST /v1/embeddings``. Each chat request takes the next scripted :class:`Step`
(or the default reply): answer, call tools, fail with a status, stall, cut the stream after some
chunks, or send a malformed body. Requests are recorded, so tests can check what the service
sent (which tools it offered, the context in the system prompt).

This is the only stand-in in the LLM tests: the real ``openai`` client talks to it over HTTP.
"""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from collections import deque
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

from fastapi import FastAPI, Request
from starlette.responses import JSONResponse, Response, StreamingResponse

from ragline_llm.providers.hashing import hash_embed


@dataclass(frozen=True)
class Step:
    """What the server does with one chat request."""

    content: str = "ok"
    tool_calls: tuple[tuple[str, dict[str, Any]], ...] = ()
    status: int | None = None
    stall_seconds: float = 0.0
    stall_after_chunks: int = 0
    cut_after_chunks: int | None = None
    malformed: bool = False
    body: Any = None  # a 200 whole answer with this JSON document instead of a completion
    usage: tuple[int, int] | None = (20, 5)


def reply(content: str, *, usage: tuple[int, int] | None = (20, 5)) -> Step:
    return Step(content=content, usage=usage)


def calls(
    *tool_calls: tuple[str, dict[str, Any]], usage: tuple[int, int] | None = (30, 10)
) -> Step:
    return Step(content="", tool_calls=tuple(tool_calls), usage=usage)


def fail(status: int) -> Step:
    return Step(status=status)


@dataclass
class FakeOpenAI:
    """The script, the record, and the app."""

    steps: deque[Step] = field(default_factory=deque)
    default: Step = field(default_factory=lambda: reply("ok"))
    chat_requests: list[dict[str, Any]] = field(default_factory=list)
    chat_authorizations: list[str | None] = field(default_factory=list)
    embedding_requests: list[dict[str, Any]] = field(default_factory=list)
    embedding_failures: int = 0

    def script(self, *steps: Step) -> None:
        self.steps.extend(steps)

    def next_step(self) -> Step:
        return self.steps.popleft() if self.steps else self.default

    def app(self) -> FastAPI:
        app = FastAPI()

        @app.post("/v1/chat/completions")
        async def chat(request: Request) -> Response:
            body = await request.json()
            self.chat_requests.append(body)
            self.chat_authorizations.append(request.headers.get("authorization"))
            step = self.next_step()
            if step.status is not None:
                return JSONResponse(
                    {"error": {"message": "scripted failure", "type": "server_error"}},
                    status_code=step.status,
                )
            if step.malformed:
                return Response(b"{not json", media_type="application/json")
            if step.body is not None:
                return JSONResponse(step.body)
            if body.get("stream"):
                return StreamingResponse(_stream(step, body), media_type="text/event-stream")
            if step.stall_seconds:
                await asyncio.sleep(step.stall_seconds)
            return JSONResponse(_completion(step, body["model"]))

        @app.post("/v1/embeddings")
        async def embeddings(request: Request) -> Response:
            body = await request.json()
            self.embedding_requests.append(body)
            if self.embedding_failures > 0:
                self.embedding_failures -= 1
                return JSONResponse({"error": {"message": "scripted"}}, status_code=503)
            inputs = body["input"] if isinstance(body["input"], list) else [body["input"]]
            dimensions = int(body.get("dimensions") or 64)
            data = [
                {"object": "embedding", "index": n, "embedding": hash_embed(text, dimensions)}
                for n, text in enumerate(inputs)
            ]
            return JSONResponse(
                {
                    "object": "list",
                    "data": data,
                    "model": body["model"],
                    "usage": {"prompt_tokens": 1, "total_tokens": 1},
                }
            )

        return app


def _tool_calls(step: Step) -> list[dict[str, Any]]:
    return [
        {
            "id": f"call_{n}_{uuid.uuid4().hex[:6]}",
            "type": "function",
            "function": {"name": name, "arguments": json.dumps(arguments)},
        }
        for n, (name, arguments) in enumerate(step.tool_calls)
    ]


def _usage(step: Step) -> dict[str, int] | None:
    if step.usage is None:
        return None
    prompt, completion = step.usage
    return {
        "prompt_tokens": prompt,
        "completion_tokens": completion,
        "total_tokens": prompt + completion,
    }


def _completion(step: Step, model: str) -> dict[str, Any]:
    message: dict[str, Any] = {"role": "assistant", "content": step.content or None}
    if step.tool_calls:
        message["tool_calls"] = _tool_calls(step)
    document: dict[str, Any] = {
        "id": f"chatcmpl-{uuid.uuid4().hex}",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": model,
        "choices": [
            {
                "index": 0,
                "message": message,
                "finish_reason": "tool_calls" if step.tool_calls else "stop",
            }
        ],
    }
    usage = _usage(step)
    if usage is not None:
        document["usage"] = usage
    return document


def _chunk(model: str, delta: dict[str, Any], finish: str | None = None) -> str:
    document = {
        "id": "chatcmpl-stream",
        "object": "chat.completion.chunk",
        "created": int(time.time()),
        "model": model,
        "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
    }
    return f"data: {json.dumps(document)}\n\n"


def _pieces(step: Step, model: str) -> list[str]:
    pieces = [_chunk(model, {"role": "assistant"})]
    words = step.content.split(" ") if step.content else []
    for n, word in enumerate(words):
        pieces.append(_chunk(model, {"content": word if n == 0 else " " + word}))
    for index, call in enumerate(_tool_calls(step)):
        arguments = call["function"]["arguments"]
        half = len(arguments) // 2
        first = {
            "index": index,
            "id": call["id"],
            "type": "function",
            "function": {"name": call["function"]["name"], "arguments": arguments[:half]},
        }
        pieces.append(_chunk(model, {"tool_calls": [first]}))
        rest = {"index": index, "function": {"arguments": arguments[half:]}}
        pieces.append(_chunk(model, {"tool_calls": [rest]}))
    pieces.append(_chunk(model, {}, "tool_calls" if step.tool_calls else "stop"))
    return pieces


class CutStreamError(Exception):
    """Raised inside the response to drop the connection mid-stream."""


async def _stream(step: Step, body: dict[str, Any]) -> AsyncIterator[str]:
    model = body["model"]
    for n, piece in enumerate(_pieces(step, model)):
        if step.cut_after_chunks is not None and n == step.cut_after_chunks:
            raise CutStreamError("scripted cut")
        if step.stall_seconds and n == step.stall_after_chunks:
            await asyncio.sleep(step.stall_seconds)
        yield piece
    usage = _usage(step)
    if usage is not None and (body.get("stream_options") or {}).get("include_usage"):
        document = {
            "id": "chatcmpl-stream",
            "object": "chat.completion.chunk",
            "created": int(time.time()),
            "model": model,
            "choices": [],
            "usage": usage,
        }
        yield f"data: {json.dumps(document)}\n\n"
    yield "data: [DONE]\n\n"
