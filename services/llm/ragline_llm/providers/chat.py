"""The chat model behind a small protocol, and its implementation with the ``openai`` client.

Any OpenAI-compatible server works: the base URL, key and model come from settings. The client's
own retries are off (``max_retries=0``): :mod:`ragline_llm.retry` retries transient errors under
the circuit breaker, so every attempt is counted once.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

import openai
from openai import AsyncOpenAI

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


def _usage(raw: Any) -> Usage | None:
    if raw is None:
        return None
    prompt, completion = (
        getattr(raw, "prompt_tokens", None),
        getattr(raw, "completion_tokens", None),
    )
    if not isinstance(prompt, int) or not isinstance(completion, int):
        return None
    return Usage(prompt_tokens=prompt, completion_tokens=completion)


class _ToolCallParts:
    """Streamed tool calls arrive in fragments keyed by index; this puts them together."""

    def __init__(self) -> None:
        self.ids: dict[int, str] = {}
        self.names: dict[int, str] = {}
        self.arguments: dict[int, list[str]] = {}

    def add(self, delta: Any) -> None:
        index = int(getattr(delta, "index", 0) or 0)
        if getattr(delta, "id", None):
            self.ids[index] = delta.id
        function = getattr(delta, "function", None)
        if function is not None:
            if getattr(function, "name", None):
                self.names[index] = self.names.get(index, "") + function.name
            if getattr(function, "arguments", None):
                self.arguments.setdefault(index, []).append(function.arguments)

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
        response = await self.client.chat.completions.create(
            **_arguments(request, model=self.model), stream=False
        )
        choices = getattr(response, "choices", None)
        if not choices:
            raise MalformedReplyError("the reply has no choices")
        message = choices[0].message
        if message is None:
            raise MalformedReplyError("the reply's choice has no message")
        calls = tuple(
            ToolCall(id=call.id, name=call.function.name, arguments=call.function.arguments or "")
            for call in (message.tool_calls or ())
            if getattr(call, "function", None) is not None
        )
        content = message.content or ""
        if not content and not calls:
            raise MalformedReplyError("the reply has neither content nor tool calls")
        return ModelReply(
            content=content,
            tool_calls=calls,
            finish_reason=choices[0].finish_reason or "stop",
            usage=_usage(getattr(response, "usage", None)),
        )

    async def stream(self, request: ModelRequest) -> AsyncGenerator[StreamPiece, None]:
        """Stream the answer; the last piece is the assembled :class:`ModelReply`."""
        stream = await self.client.chat.completions.create(
            **_arguments(request, model=self.model),
            stream=True,
            stream_options={"include_usage": True},
        )
        text: list[str] = []
        parts = _ToolCallParts()
        finish_reason: str | None = None
        usage: Usage | None = None
        try:
            async for chunk in stream:
                usage = _usage(getattr(chunk, "usage", None)) or usage
                for choice in chunk.choices or ():
                    delta = choice.delta
                    if delta is not None and delta.content:
                        text.append(delta.content)
                        yield ContentDelta(delta.content)
                    for call in (delta.tool_calls or ()) if delta is not None else ():
                        parts.add(call)
                    finish_reason = choice.finish_reason or finish_reason
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
