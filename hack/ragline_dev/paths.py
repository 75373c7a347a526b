"""Where the local infrastructure keeps its downloads, builds and running state.

Built binaries and jars go to a user-level cache keyed by their pinned versions, so a fresh clone on
a warm machine reuses them; ``RAGLINE_CACHE_DIR`` moves that cache. Running state (data
directories, logs, pids) lives in a *stack directory*: ``.cache/run/<name>`` inside the repository
for ``make up``, a temporary directory for a test session.
"""

from __future__ import annotations

import os
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
HACK_DIR = REPO_ROOT / "hack"


def cache_dir() -> Path:
    """Return the user-level cache for pinned, built or downloaded artefacts."""
    override = os.environ.get("RAGLINE_CACHE_DIR")
    base = Path(override) if override else Path.home() / ".cache" / "ragline"
    base.mkdir(parents=True, exist_ok=True)
    return base


def default_stack_dir() -> Path:
    """Return the stack directory ``make up`` and the CLI use unless told otherwise."""
    override = os.environ.get("RAGLINE_STACK_DIR")
    return Path(override) if override else REPO_ROOT / ".cache" / "run" / "dev"
