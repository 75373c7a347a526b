"""Chunking: sizes, overlap, titles, edge cases."""

from __future__ import annotations

import itertools

import pytest

from ragline_llm.rag.chunking import ChunkingPolicy, chunk_text, sentences
from ragline_llm.tokens import estimate_tokens

BODY = " ".join(f"Sentence number {n} talks about pizza dough and tomatoes." for n in range(60))


def test_every_chunk_fits_the_size_and_starts_with_the_title() -> None:
    policy = ChunkingPolicy(size=60, overlap=15)
    chunks = chunk_text("Dough guide", BODY, policy)
    assert len(chunks) > 5
    for chunk in chunks:
        assert chunk.startswith("Dough guide\n")
        assert estimate_tokens(chunk) <= policy.size + estimate_tokens("Dough guide") + 1


def test_consecutive_chunks_overlap_and_nothing_is_lost() -> None:
    chunks = chunk_text("T", BODY, ChunkingPolicy(size=60, overlap=20))
    for first, second in itertools.pairwise(chunks):
        last_sentence = sentences(first.split("\n", 1)[1])[-1]
        assert last_sentence in second
    joined = " ".join(chunks)
    for n in range(60):
        assert f"Sentence number {n} " in joined


def test_no_overlap_means_disjoint_chunks() -> None:
    chunks = chunk_text("T", BODY, ChunkingPolicy(size=60, overlap=0))
    bodies = [sentences(chunk.split("\n", 1)[1]) for chunk in chunks]
    flat = [sentence for body in bodies for sentence in body]
    assert len(flat) == len(set(flat)) == 60


def test_a_sentence_longer_than_a_chunk_is_cut_by_words() -> None:
    long_sentence = " ".join(["word"] * 500)
    chunks = chunk_text("T", long_sentence, ChunkingPolicy(size=50, overlap=0))
    assert len(chunks) >= 10
    assert sum(chunk.count("word") for chunk in chunks) == 500


def test_an_empty_document_is_one_chunk_of_its_title() -> None:
    assert chunk_text("Opening hours", "", ChunkingPolicy()) == ["Opening hours"]


@pytest.mark.parametrize(("size", "overlap"), [(0, 0), (10, 10), (10, -1)])
def test_impossible_policies_are_refused(size: int, overlap: int) -> None:
    with pytest.raises(ValueError, match="overlap"):
        ChunkingPolicy(size=size, overlap=overlap)
