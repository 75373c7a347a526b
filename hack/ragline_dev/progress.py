"""Visible progress for installs and start-ups: one line per step on stderr, with timings."""

from __future__ import annotations

import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager


def say(message: str) -> None:
    """Print one progress line."""
    print(f"==> {message}", file=sys.stderr, flush=True)


@contextmanager
def step(message: str) -> Iterator[None]:
    """Announce a step, then report how long it took (or that it failed)."""
    say(f"{message} ...")
    started = time.monotonic()
    try:
        yield
    except BaseException:
        say(f"{message}: failed after {time.monotonic() - started:.1f}s")
        raise
    say(f"{message}: done in {time.monotonic() - started:.1f}s")
