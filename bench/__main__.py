"""``make bench [ONLY=name]``: run the benchmarks in ``bench/`` and merge into latest.json.

A benchmark is a module ``bench/<name>.py`` with ``run() -> dict`` (or ``async def run()``) that
returns its figures, each next to a baseline measured in the same run and the ratio between them:
these machines are shared and noisy, so ratios hold where absolute times drift. Results of other
benchmarks already in ``latest.json`` are kept, so ``ONLY=`` refreshes one entry.
"""

from __future__ import annotations

import argparse
import asyncio
import importlib
import inspect
import json
import os
import platform
import sys
import time
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

BENCH_DIR = Path(__file__).resolve().parent
RESULTS = BENCH_DIR / "results" / "latest.json"


def discover() -> list[str]:
    """Return the names of the benchmark modules."""
    return sorted(path.stem for path in BENCH_DIR.glob("*.py") if not path.stem.startswith("_"))


def run_one(name: str) -> dict[str, Any]:
    """Import ``bench.<name>`` and run it."""
    module = importlib.import_module(f"bench.{name}")
    started = time.monotonic()
    result = module.run()
    if inspect.isawaitable(result):
        result = asyncio.run(result)  # type: ignore[arg-type]
    figures: dict[str, Any] = dict(result)
    figures["_duration_s"] = round(time.monotonic() - started, 1)
    return figures


def main(argv: Sequence[str] | None = None) -> int:
    """Run the chosen benchmarks and merge their figures into ``latest.json``."""
    parser = argparse.ArgumentParser(prog="bench")
    parser.add_argument("--only", help="comma-separated benchmark names", default="")
    args = parser.parse_args(argv)
    available = discover()
    chosen = [n for n in args.only.split(",") if n] or available
    unknown = sorted(set(chosen) - set(available))
    if unknown:
        print(f"unknown benchmark(s): {', '.join(unknown)}; have: {', '.join(available)}")
        return 2
    document: dict[str, Any] = json.loads(RESULTS.read_text()) if RESULTS.exists() else {}
    for name in chosen:
        print(f"==> bench {name}", flush=True)
        figures = run_one(name)
        figures["_measured_at"] = datetime.now(UTC).isoformat(timespec="seconds")
        document[name] = figures
        print(json.dumps({name: figures}, indent=2), flush=True)
    document["_machine"] = {"cpus": _cpus(), "python": platform.python_version()}
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(document, indent=2, sort_keys=True) + "\n")
    print(f"wrote {RESULTS.relative_to(BENCH_DIR.parent)}")
    return 0


def _cpus() -> int:
    return len(os.sched_getaffinity(0))


if __name__ == "__main__":
    sys.exit(main())
