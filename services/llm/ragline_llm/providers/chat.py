"""The chat model behind a small protocol, and its implementation with the ``openai`` client.

Any OpenAI-compatible server works: the base URL, key and model come from settings. The client's
own retries are off (``max_retries=0``): :mod:`ragline_llm.retry` retries transient errors under
the circuit breaker, so every attempt is counted once.

Calls go through the client's low-level :meth:`AsyncOpenAI.post` with ``cast_to=object``: the
same request path (auth, timeouts, status errors, SSE decoding) as ``chat.completions.create``,
without the typed layer's request transform and response models, which cost a few milliseconds
of CPU per call (most of the service's overhead). Replies arrive as plain JSON, so their shape is
checked here, and anything unexpected is a :class:`MalformedReplyError`.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

import openai
from openai import AsyncOpenAI, AsyncStream

from ragline_llm.retry import MalformedReplyError


@dataclass(frozen=True)
class ToolCall:
    """A function call the model asked for; ``arguments`` is the model's JSON text."""

    id: str
    name: str
    arguments: str


@dataclass(frozen=True)
class Usage:
    """Tokens the upstream says it spent."""

    prompt_tokens: int
    completion_tokens: int


@dataclass(frozen=True)
class ModelReply:
    """One complete answer of the model: text, tool calls, or both."""

    content: str
    tool_calls: tuple[ToolCall, ...] = ()
    finish_reason: str = "stop"
    usage: Usage | None = None


@dataclass(frozen=True)
class ContentDelta:
    """A piece of streamed answer text."""

    text: str


StreamPiece = ContentDelta | ModelReply


@dataclass(frozen=True)
class ModelRequest:
    """What one model call sends."""

    messages: Sequence[dict[str, Any]]
    tools: Sequence[dict[str, Any]] = ()
    tool_choice: str | dict[str, Any] | None = None
    max_tokens: int = 1024
    temperature: float | None = None
    extra: dict[str, Any] = field(default_factory=dict)


class ChatModel(Protocol):
    """A chat model: whole answers, or streamed ones ending with the assembled reply."""

    model: str

    async def complete(self, request: ModelRequest) -> ModelReply:
        """Return the whole answer."""
        ...

    def stream(self, request: ModelRequest) -> AsyncGenerator[StreamPiece, None]:
        """Yield :class:`ContentDelta` pieces, then exactly one :class:`ModelReply`."""
        ...

    async def close(self) -> None:
        """Release connections."""
        ...


def _arguments(request: ModelRequest, *, model: str) -> dict[str, Any]:
    arguments: dict[str, Any] = {
        "model": model,
        "messages": list(request.messages),
        "max_tokens": request.max_tokens,
    }
    if request.tools:
        arguments["tools"] = list(request.tools)
        if request.tool_choice is not None:
            arguments["tool_choice"] = request.tool_choice
    if request.temperature is not None:
        arguments["temperature"] = request.temperature
    return arguments


COMPLETIONS_PATH = "/chat/completions"
# What ``chat.completions.create`` sends: the API key as bearer token, no other credential.
_REQUEST_OPTIONS: Any = {"security": {"bearer_auth": True}}


def _field(document: Any, name: str) -> Any:
    return document.get(name) if isinstance(document, dict) else None


def _text(value: Any, *, what: str) -> str:
    if value is None:
        return ""
    if not isinstance(value, str):
        raise MalformedReplyError(f"the reply's {what} is not text")
    return value


def _list(value: Any, *, what: str) -> list[Any]:
    if value is None:
        return []
    if not isinstance(value, list):
        raise MalformedReplyError(f"the reply's {what} is not a list")
    return value


def _usage(raw: Any) -> Usage | None:
    prompt, completion = _field(raw, "prompt_tokens"), _field(raw, "completion_tokens")
    if not isinstance(prompt, int) or not isinstance(completion, int):
        return None
    return Usage(prompt_tokens=prompt, completion_tokens=completion)


def _whole_tool_call(raw: Any) -> ToolCall | None:
    function = _field(raw, "function")
    if function is None:
        return None
    name = _text(_field(function, "name"), what="tool call name")
    if not name:
        raise MalformedReplyError("a tool call has no function name")
    return ToolCall(
        id=_text(_field(raw, "id"), what="tool call id"),
        name=name,
        arguments=_text(_field(function, "arguments"), what="tool call arguments"),
    )


class _ToolCallParts:
    """Streamed tool calls arrive in fragments keyed by index; this puts them together."""

    def __init__(self) -> None:
        self.ids: dict[int, str] = {}
        self.names: dict[int, str] = {}
        self.arguments: dict[int, list[str]] = {}

    def add(self, delta: Any) -> None:
        index = _field(delta, "index") or 0
        if not isinstance(index, int):
            raise MalformedReplyError("a streamed tool call's index is not a number")
        if call_id := _text(_field(delta, "id"), what="tool call id"):
            self.ids[index] = call_id
        function = _field(delta, "function")
        if name := _text(_field(function, "name"), what="tool call name"):
            self.names[index] = self.names.get(index, "") + name
        if arguments := _text(_field(function, "arguments"), what="tool call arguments"):
            self.arguments.setdefault(index, []).append(arguments)

    def calls(self) -> tuple[ToolCall, ...]:
        calls = []
        for index in sorted(self.names.keys() | self.ids.keys()):
            name = self.names.get(index)
            if not name:
                raise MalformedReplyError("a streamed tool call has no function name")
            calls.append(
                ToolCall(
                    id=self.ids.get(index) or f"call_{index}",
                    name=name,
                    arguments="".join(self.arguments.get(index, [])),
                )
            )
        return tuple(calls)


class OpenAIChatModel:
    """:class:`ChatModel` over ``openai.AsyncOpenAI``."""

    def __init__(self, client: AsyncOpenAI, *, model: str) -> None:
        self.client = client
        self.model = model

    async def complete(self, request: ModelRequest) -> ModelReply:
        """Return the whole answer (``stream=False``)."""
        body = {**_arguments(request, model=self.model), "stream": False}
        response = await self.client.post(
            COMPLETIONS_PATH, cast_to=object, body=body, options=_REQUEST_OPTIONS
        )
        choices = _list(_field(response, "choices"), what="choices")
        if not choices:
            raise MalformedReplyError("the reply has no choices")
        message = _field(choices[0], "message")
        if not isinstance(message, dict):
            raise MalformedReplyError("the reply's choice has no message")
        calls = tuple(
            call
            for raw in _list(message.get("tool_calls"), what="tool calls")
            if (call := _whole_tool_call(raw)) is not None
        )
        content = _text(message.get("content"), what="content")
        if not content and not calls:
            raise MalformedReplyError("the reply has neither content nor tool calls")
        return ModelReply(
            content=content,
            tool_calls=calls,
            finish_reason=_text(_field(choices[0], "finish_reason"), what="finish reason")
            or "stop",
            usage=_usage(_field(response, "usage")),
        )

    async def stream(self, request: ModelRequest) -> AsyncGenerator[StreamPiece, None]:
        """Stream the answer; the last piece is the assembled :class:`ModelReply`."""
        body = {
            **_arguments(request, model=self.model),
            "stream": True,
            "stream_options": {"include_usage": True},
        }
        stream = await self.client.post(
            COMPLETIONS_PATH,
            cast_to=object,
            body=body,
            options=_REQUEST_OPTIONS,
            stream=True,
            stream_cls=AsyncStream[object],
        )
        text: list[str] = []
        parts = _ToolCallParts()
        finish_reason: str | None = None
        usage: Usage | None = None
        try:
            async for chunk in stream:
                usage = _usage(_field(chunk, "usage")) or usage
                for choice in _list(_field(chunk, "choices"), what="choices"):
                    delta = _field(choice, "delta")
                    if content := _text(_field(delta, "content"), what="content"):
                        text.append(content)
                        yield ContentDelta(content)
                    for call in _list(_field(delta, "tool_calls"), what="tool calls"):
                        parts.add(call)
                    finish_reason = (
                        _text(_field(choice, "finish_reason"), what="finish reason")
                        or finish_reason
                    )
        finally:
            await stream.close()
        if finish_reason is None:
            raise MalformedReplyError("the stream ended before the answer was finished")
        yield ModelReply(
            content="".join(text),
            tool_calls=parts.calls(),
            finish_reason=finish_reason,
            usage=usage,
        )

    async def close(self) -> None:
        """Close the HTTP connections."""
        await self.client.close()


def openai_client(
    *,
    base_url: str,
    api_key: str,
    connect_timeout: float,
    read_timeout: float,
) -> AsyncOpenAI:
    """An ``AsyncOpenAI`` with our timeouts and without its own retries."""
    timeout = openai.Timeout(read_timeout, connect=connect_timeout)
    return AsyncOpenAI(base_url=base_url, api_key=api_key, timeout=timeout, max_retries=0)
