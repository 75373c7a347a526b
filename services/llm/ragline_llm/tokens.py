"""Token estimates for budgets and context trimming, without a model-specific tokenizer.

No tokenizer of the upstream model is available offline (and the model is configurable), so
counts are estimated: the larger of one token per ~4 characters and ~4/3 tokens per word or
punctuation mark. That overestimates English slightly, which is the safe side for fitting a
context window. Billing uses the upstream's own ``usage`` figures whenever it sends them.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable

_PIECES = re.compile(r"\w+|[^\w\s]")
CHARS_PER_TOKEN = 4
TOKENS_PER_PIECE = 4 / 3
# OpenAI's chat format adds a few tokens per message for the role and separators.
MESSAGE_OVERHEAD_TOKENS = 4


def estimate_tokens(text: str) -> int:
    """Return an (over)estimate of the tokens in ``text``."""
    if not text:
        return 0
    by_chars = len(text) / CHARS_PER_TOKEN
    by_pieces = len(_PIECES.findall(text)) * TOKENS_PER_PIECE
    return math.ceil(max(by_chars, by_pieces))


def estimate_messages(texts: Iterable[str]) -> int:
    """Return the estimate for chat messages with the given contents."""
    return sum(estimate_tokens(text) + MESSAGE_OVERHEAD_TOKENS for text in texts)
