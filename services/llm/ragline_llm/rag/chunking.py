"""Splitting documents into overlapping chunks of about ``size`` tokens.

Chunks follow sentence boundaries where they can: sentences are packed until the next one would
overflow the chunk, and the last sentences of a chunk (up to ``overlap`` tokens) open the next
one, so a fact that straddles a boundary is whole in at least one chunk. A sentence longer than a
chunk is cut by words. Every chunk starts with the document's title, which is what a question
most often names ("the Margherita", "refund policy").
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from ragline_llm.tokens import estimate_tokens

_SENTENCE_END = re.compile(r"(?<=[.!?])\s+|\n\s*\n|\n(?=\s*[-*•]\s)")


@dataclass(frozen=True)
class ChunkingPolicy:
    """Chunk size and overlap, in (estimated) tokens."""

    size: int = 200
    overlap: int = 40

    def __post_init__(self) -> None:
        if self.size < 1 or not 0 <= self.overlap < self.size:
            raise ValueError("need size >= 1 and 0 <= overlap < size")


def sentences(text: str) -> list[str]:
    """Split ``text`` into sentences and list items (whitespace-trimmed, none empty)."""
    return [part.strip() for part in _SENTENCE_END.split(text) if part and part.strip()]


def _split_long(sentence: str, size: int) -> list[str]:
    words = sentence.split()
    pieces: list[str] = []
    current: list[str] = []
    for word in words:
        if current and estimate_tokens(" ".join([*current, word])) > size:
            pieces.append(" ".join(current))
            current = []
        current.append(word)
    if current:
        pieces.append(" ".join(current))
    return pieces


def _units(text: str, size: int) -> list[str]:
    units: list[str] = []
    for sentence in sentences(text):
        units.extend(
            [sentence] if estimate_tokens(sentence) <= size else _split_long(sentence, size)
        )
    return units


def _tail(units: list[str], overlap: int) -> list[str]:
    tail: list[str] = []
    for unit in reversed(units):
        if estimate_tokens(" ".join([unit, *tail])) > overlap:
            break
        tail.insert(0, unit)
    return tail


def chunk_text(title: str, body: str, policy: ChunkingPolicy) -> list[str]:
    """Return the chunks of a document (at least one: the title alone for an empty body)."""
    heading = title.strip()
    budget = max(1, policy.size - estimate_tokens(heading))
    chunks: list[list[str]] = []
    current: list[str] = []
    for unit in _units(body, budget):
        if current and estimate_tokens(" ".join([*current, unit])) > budget:
            chunks.append(current)
            current = _tail(current, policy.overlap)
            # The overlap never pushes a chunk over its size: drop it if it would.
            if estimate_tokens(" ".join([*current, unit])) > budget:
                current = []
        current.append(unit)
    if current or not chunks:
        chunks.append(current)
    return [f"{heading}\n{' '.join(units)}".strip() for units in chunks]
