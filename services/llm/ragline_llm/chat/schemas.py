"""Chat request and response bodies, and the server-sent events of a streamed answer."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

CONVERSATION_ID_PATTERN = r"^[A-Za-z0-9._:-]{1,64}$"
# A long conversation fits comfortably; more than this is not a chat.
MAX_MESSAGES = 200
MAX_MESSAGE_CHARS = 32_000


class FunctionCall(BaseModel):
    """A function call in an assistant message of the history."""

    name: str = Field(min_length=1, max_length=64)
    arguments: str = Field(default="", max_length=MAX_MESSAGE_CHARS)


class ToolCallIn(BaseModel):
    """A tool call of an earlier assistant message."""

    id: str = Field(min_length=1, max_length=128)
    type: Literal["function"] = "function"
    function: FunctionCall


class ChatMessage(BaseModel):
    """One message of the conversation, as in OpenAI's chat format."""

    model_config = ConfigDict(extra="forbid")

    role: Literal["system", "user", "assistant", "tool"]
    content: str | None = Field(default=None, max_length=MAX_MESSAGE_CHARS)
    tool_calls: list[ToolCallIn] | None = Field(default=None, max_length=16)
    tool_call_id: str | None = Field(default=None, max_length=128)

    def upstream(self) -> dict[str, Any]:
        """The message as the upstream receives it."""
        return self.model_dump(mode="json", exclude_none=True)


class FunctionName(BaseModel):
    """Names one function."""

    name: str = Field(min_length=1, max_length=64)


class ToolChoiceFunction(BaseModel):
    """Force one specific (enabled) tool in the first round."""

    type: Literal["function"] = "function"
    function: FunctionName


class ChatCreate(BaseModel):
    """A chat request: the conversation so far, and how to answer."""

    model_config = ConfigDict(extra="forbid")

    messages: list[ChatMessage] = Field(min_length=1, max_length=MAX_MESSAGES)
    conversation_id: str | None = Field(
        default=None,
        pattern=CONVERSATION_ID_PATTERN,
        description="keeps a conversation's orders idempotent; generated when absent",
    )
    stream: bool = Field(default=False, description="answer as server-sent events")
    tool_choice: Literal["auto", "none", "required"] | ToolChoiceFunction | None = Field(
        default=None, description="as in OpenAI's API; applies to the first model call"
    )
    max_tokens: int | None = Field(default=None, ge=1, description="capped by the service")
    temperature: float | None = Field(default=None, ge=0, le=2)


class AssistantMessage(BaseModel):
    """The assistant's answer."""

    role: Literal["assistant"] = "assistant"
    content: str


class ToolCallPublic(BaseModel):
    """A tool call made while answering, with its outcome."""

    id: str
    name: str
    arguments: str = Field(description="the JSON text the model sent")
    status: Literal["ok", "error", "refused"]
    result: dict[str, Any]


class UsagePublic(BaseModel):
    """Tokens this answer spent (all model calls of it)."""

    prompt_tokens: int
    completion_tokens: int
    total_tokens: int


class ChatPublic(BaseModel):
    """A whole answer (also the data of the stream's final ``message`` event)."""

    id: str
    conversation_id: str
    model: str
    created: int = Field(description="Unix time")
    message: AssistantMessage
    finish_reason: str
    tool_calls: list[ToolCallPublic]
    usage: UsagePublic


SSE_DESCRIPTION = """With `stream: true` the answer is `text/event-stream`. Events:

* `delta` — `{"content": "..."}`: the next piece of the answer's text;
* `tool_call` — `{"id", "name", "arguments"}`: the assistant calls a tool;
* `tool_result` — `{"id", "name", "status", "result"}`: what the tool answered;
* `message` — a `ChatPublic` document: the whole answer; the stream ends after it;
* `error` — a `Problem` document: the answer failed (upstream error, timeout, breaker open,
  budget spent); the stream ends after it.

Failures before the first event are answered with a problem response and its status instead."""
