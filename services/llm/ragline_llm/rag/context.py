"""Fitting a conversation and retrieved context into the model's context window.

The window holds the system prompt, the retrieved context, the conversation, the tool
definitions, and room for the answer (``max_output_tokens``). The conversation is kept from the
newest message back (the last user message always); context chunks fill what is left, best
first, whole chunks only.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from ragline_llm.errors import ContextTooLongError
from ragline_llm.rag.search import Hit
from ragline_llm.tokens import MESSAGE_OVERHEAD_TOKENS, estimate_tokens


@dataclass(frozen=True)
class Budget:
    """Token budget of one model call."""

    context_tokens: int
    max_output_tokens: int


def message_tokens(message: dict[str, Any]) -> int:
    """Estimated tokens of one chat message (content and tool calls)."""
    total = estimate_tokens(str(message.get("content") or "")) + MESSAGE_OVERHEAD_TOKENS
    for call in message.get("tool_calls") or ():
        function = call.get("function", {})
        total += estimate_tokens(str(function.get("name", "")))
        total += estimate_tokens(str(function.get("arguments", "")))
    return total


def fit_history(
    history: Sequence[dict[str, Any]], *, available: int
) -> tuple[list[dict[str, Any]], int]:
    """Keep the newest messages that fit in ``available`` tokens; return them and their cost.

    A ``tool`` message is never kept without the assistant message that called it (the
    upstream would refuse the orphan), so the cut moves back to a user or assistant message.
    """
    kept: list[dict[str, Any]] = []
    used = 0
    for message in reversed(history):
        cost = message_tokens(message)
        if used + cost > available:
            break
        kept.insert(0, message)
        used += cost
    while kept and kept[0].get("role") == "tool":
        used -= message_tokens(kept.pop(0))
    if not kept and history:
        raise ContextTooLongError("the last message does not fit in the model's context window")
    return kept, used


def fit_context(hits: Sequence[Hit], *, available: int) -> list[Hit]:
    """Keep the best hits whose text fits in ``available`` tokens."""
    kept: list[Hit] = []
    used = 0
    for hit in hits:
        cost = estimate_tokens(hit.content) + 2
        if used + cost > available:
            continue
        kept.append(hit)
        used += cost
    return kept
