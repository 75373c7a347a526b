"""Small commands the Tiltfile's no-Docker mode runs: ``python -m ragline_dev.devloop ready``."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from ragline_dev import paths
from ragline_dev.infra import Stack
from ragline_dev.platform import platform_parts


def ready(names: Sequence[str], *, stack_dir: Path) -> bool:
    """Every named part of the local stack was started and is healthy now."""
    statuses = {
        status.name: status for status in Stack(root=stack_dir, parts=platform_parts()).status()
    }
    unknown = set(names) - set(statuses)
    if unknown:
        raise ValueError(f"no such part: {', '.join(sorted(unknown))}")
    return all(statuses[name].state is not None and statuses[name].healthy for name in names)


def main(argv: Sequence[str] | None = None) -> int:
    """Exit 0 when the named parts are up and healthy (a Tilt readiness probe), else 1."""
    parser = argparse.ArgumentParser(prog="ragline_dev.devloop")
    sub = parser.add_subparsers(dest="command", required=True)
    check = sub.add_parser("ready", help="are these parts of the local stack up and healthy?")
    check.add_argument("parts", nargs="+")
    check.add_argument("--stack-dir", type=Path, default=None)
    args = parser.parse_args(argv)
    return 0 if ready(args.parts, stack_dir=args.stack_dir or paths.default_stack_dir()) else 1


if __name__ == "__main__":
    sys.exit(main())
