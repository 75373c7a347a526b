"""Business re-ranking and fitting the context window."""

from __future__ import annotations

from typing import Any

import pytest

from ragline_llm.errors import ContextTooLongError
from ragline_llm.rag.context import fit_context, fit_history, message_tokens
from ragline_llm.rag.rerank import rerank
from ragline_llm.rag.search import Hit


def hit(doc: str, score: float, **metadata: Any) -> Hit:
    return Hit(
        doc_id=doc,
        kind="menu",
        title=doc,
        content=f"{doc} text",
        metadata={"sku": doc, **metadata},
        score=score,
    )


def test_an_unavailable_item_sinks_below_every_available_one() -> None:
    ranked = rerank([hit("a", 0.9, available=False), hit("b", 0.2)], promoted_skus=set(), limit=5)
    assert [item.hit.doc_id for item in ranked] == ["b", "a"]
    assert ranked[1].available is False


def test_promotions_and_dietary_matches_lift_close_candidates() -> None:
    hits = [hit("a", 0.50), hit("b", 0.47, dietary=["vegan"]), hit("c", 0.46)]
    ranked = rerank(hits, promoted_skus={"c"}, dietary=["vegan"], limit=5)
    assert [item.hit.doc_id for item in ranked] == ["b", "c", "a"]
    assert ranked[1].on_promotion


def test_one_result_per_item_from_its_best_chunk() -> None:
    ranked = rerank([hit("a", 0.3), hit("a", 0.6), hit("b", 0.5)], promoted_skus=set(), limit=1)
    assert len(ranked) == 1
    assert ranked[0].hit.score == 0.6


def _message(role: str, words: int) -> dict[str, Any]:
    return {"role": role, "content": " ".join(["word"] * words)}


def test_history_keeps_the_newest_messages_that_fit() -> None:
    history = [_message("user", 100), _message("assistant", 100), _message("user", 10)]
    kept, used = fit_history(
        history, available=message_tokens(history[1]) + message_tokens(history[2])
    )
    assert kept == history[1:]
    assert used == sum(message_tokens(m) for m in kept)


def test_a_tool_result_is_never_kept_without_its_call() -> None:
    call = {
        "role": "assistant",
        "content": None,
        "tool_calls": [{"id": "1", "function": {"name": "x", "arguments": "{}"}}],
    }
    history = [
        _message("user", 50),
        call,
        {"role": "tool", "tool_call_id": "1", "content": "r " * 50},
        _message("user", 5),
    ]
    budget = message_tokens(history[2]) + message_tokens(history[3])
    kept, _ = fit_history(history, available=budget)
    assert kept == [history[3]]


def test_a_last_message_larger_than_the_window_is_refused() -> None:
    with pytest.raises(ContextTooLongError):
        fit_history([_message("user", 1000)], available=50)


def test_context_takes_whole_chunks_best_first_while_they_fit() -> None:
    hits = [hit("a", 0.9), hit("b", 0.8), hit("c", 0.7)]
    hits[1] = Hit("b", "faq", "b", "long " * 200, {}, 0.8)
    assert [h.doc_id for h in fit_context(hits, available=30)] == ["a", "c"]
