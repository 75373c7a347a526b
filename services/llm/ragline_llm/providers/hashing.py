"""The local, offline embedder: feature hashing of words, word pairs and character n-grams.

What it is, plainly: a *lexical* embedding. Each text becomes a bag of features — its words, pairs
of neighbouring words, and the 3- to 5-character pieces of every word — each hashed (CRC-32, so
the same in every process) into one of ``dimensions`` buckets with a hashed sign, weighted
sub-linearly by count and L2-normalised. Cosine similarity of two such vectors measures how much
vocabulary and word fragments the texts share.

How good it is: it finds texts that use the same or related word *forms* — plurals, typos,
compounds ("veggie" ~ "vegetarian" through "veg"), inflections — and it is deterministic, free and
needs no download. It knows nothing of meaning: "something without meat" does not find a dish
described as "vegetarian", and synonyms ("soda" vs "lemonade") do not match. For semantic
retrieval point the OpenAI-compatible provider at a real embedding model.
"""

from __future__ import annotations

import math
import re
import unicodedata
import zlib
from collections import defaultdict
from collections.abc import Sequence
from itertools import pairwise

from ragline_llm.providers.embeddings import EmbeddingSpec

_WORD = re.compile(r"\w+")
NGRAM_SIZES = (3, 4, 5)
# Words carry the meaning; fragments and pairs refine it. The weights are relative.
WORD_WEIGHT = 1.0
PAIR_WEIGHT = 0.5
NGRAM_WEIGHT = 0.35
STOP_WEIGHT = 0.05
_SIGN_SEED = 0x5BD1E995
STOP_WORDS = frozenset(
    [
        "a",
        "an",
        "and",
        "are",
        "as",
        "at",
        "be",
        "but",
        "by",
        "can",
        "do",
        "does",
        "for",
        "from",
        "have",
        "has",
        "i",
        "if",
        "in",
        "is",
        "it",
        "its",
        "me",
        "my",
        "of",
        "on",
        "or",
        "our",
        "please",
        "so",
        "some",
        "than",
        "that",
        "the",
        "their",
        "them",
        "then",
        "there",
        "these",
        "they",
        "this",
        "to",
        "us",
        "was",
        "we",
        "what",
        "which",
        "with",
        "would",
        "you",
        "your",
        "want",
        "like",
        "get",
        "give",
        "any",
        "about",
        "i'd",
        "i'm",
        "can't",
        "don't",
    ]
)


def _normalise(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text.lower())
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


def features(text: str) -> dict[str, float]:
    """Return the weighted features of ``text``."""
    words = _WORD.findall(_normalise(text))
    weights: defaultdict[str, float] = defaultdict(float)
    for word in words:
        if word in STOP_WORDS:
            weights[f"w:{word}"] += STOP_WEIGHT
            continue
        weights[f"w:{word}"] += WORD_WEIGHT
        padded = f"#{word}#"
        grams = [padded[i : i + n] for n in NGRAM_SIZES for i in range(len(padded) - n + 1)]
        if grams:
            share = NGRAM_WEIGHT * len(NGRAM_SIZES) / len(grams) * math.sqrt(len(grams) / 3)
            for gram in grams:
                weights[f"g:{gram}"] += share
    content = [word for word in words if word not in STOP_WORDS]
    for first, second in pairwise(content):
        weights[f"p:{first} {second}"] += PAIR_WEIGHT
    return weights


def hash_embed(text: str, dimensions: int) -> list[float]:
    """Embed ``text`` into a unit vector of ``dimensions`` (all zeros for a text without words)."""
    vector = [0.0] * dimensions
    for feature, weight in features(text).items():
        data = feature.encode()
        bucket = zlib.crc32(data) % dimensions
        sign = 1.0 if zlib.crc32(data, _SIGN_SEED) & 1 else -1.0
        vector[bucket] += sign * (1.0 + math.log(weight)) if weight >= 1 else sign * weight
    norm = math.sqrt(sum(value * value for value in vector))
    if norm == 0:
        return vector
    return [value / norm for value in vector]


class HashingEmbedder:
    """:class:`~ragline_llm.providers.embeddings.Embedder` of :func:`hash_embed` vectors."""

    def __init__(self, spec: EmbeddingSpec) -> None:
        self.spec = spec

    async def embed(self, texts: Sequence[str]) -> list[list[float]]:
        """Embed ``texts`` (CPU only; a short text takes well under a millisecond)."""
        return [hash_embed(text, self.spec.dimensions) for text in texts]

    async def close(self) -> None:
        """Nothing to release."""
