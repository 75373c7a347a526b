"""The system prompt and the retrieved context, fitted into the model's window."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ragline_llm.rag.search import Hit

SYSTEM_TEMPLATE = """You are the ordering assistant of {name}. Help customers choose from the \
menu, answer questions about the restaurant's policies, price their order and place it.
Rules:
- Use only the context below and your tools for facts about the menu, prices and policies; if they \
do not answer, say that you do not know.
- Prices are in cents in tool results; show them in the currency's usual form.
- Place an order only after the customer has confirmed the items and quantities."""

CONTEXT_HEADER = "\n\nContext (most relevant first):"


def system_prompt(name: str) -> str:
    """The instructions, without context."""
    return SYSTEM_TEMPLATE.format(name=name)


def with_context(prompt: str, hits: Sequence[Hit]) -> str:
    """The system prompt followed by the numbered context chunks."""
    if not hits:
        return prompt
    lines = [f"[{n}] ({hit.kind}) {hit.content}" for n, hit in enumerate(hits, start=1)]
    return prompt + CONTEXT_HEADER + "\n" + "\n".join(lines)


def last_user_text(messages: Sequence[dict[str, Any]]) -> str:
    """The newest user message's text (what context is retrieved for)."""
    for message in reversed(messages):
        if message.get("role") == "user" and message.get("content"):
            return str(message["content"])
    return ""
