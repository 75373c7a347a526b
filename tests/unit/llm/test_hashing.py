"""The local hashing embedder: deterministic, normalised, lexical."""

from __future__ import annotations

import math
import subprocess
import sys

from ragline_llm.providers.hashing import hash_embed


def _cos(a: list[float], b: list[float]) -> float:
    return sum(x * y for x, y in zip(a, b, strict=True))


def test_vectors_have_the_dimensions_and_unit_length() -> None:
    vector = hash_embed("Pizza Margherita with basil", 384)
    assert len(vector) == 384
    assert math.isclose(math.sqrt(sum(v * v for v in vector)), 1.0, rel_tol=1e-9)


def test_a_text_without_words_is_the_zero_vector() -> None:
    assert hash_embed("  !!  ", 16) == [0.0] * 16


def test_the_same_text_gives_the_same_vector_in_another_process() -> None:
    here = hash_embed("spicy salami", 32)
    code = (
        "from ragline_llm.providers.hashing import hash_embed;print(hash_embed('spicy salami', 32))"
    )
    there = subprocess.run(
        [sys.executable, "-c", code], check=True, capture_output=True, text=True
    ).stdout
    assert [round(v, 9) for v in here] == [round(v, 9) for v in eval(there)]


def test_shared_words_and_fragments_score_higher_than_unrelated_text() -> None:
    doc = hash_embed("Hot and spicy pizza with salami and chili flakes", 384)
    unrelated = _cos(hash_embed("refund within 24 hours", 384), doc)
    assert _cos(hash_embed("spicy salami pizza", 384), doc) > 0.4
    # A typo and a plural still share fragments: a weak match, but far above an unrelated text.
    assert _cos(hash_embed("a spicey salamis", 384), doc) > 5 * max(unrelated, 0.01)
    assert unrelated < 0.05


def test_stop_words_barely_count() -> None:
    lemonade = hash_embed("lemonade", 384)
    assert _cos(hash_embed("what lemonade do you have for me", 384), lemonade) > 0.9
