"""``python -m ragline_llm [serve|migrate]``: run the LLM service, or migrate its tables.

Settings come from ``RAGLINE_LLM_*`` variables (at least ``RAGLINE_LLM_DATABASE_URL``; serving
also reads ``RAGLINE_LLM_REGISTRY_PATH``, ``RAGLINE_LLM_KEYS_DIR``, ``RAGLINE_LLM_BASE_URL``,
``RAGLINE_LLM_MODEL``, ``RAGLINE_LLM_API_KEY``, ``RAGLINE_LLM_API_URL``). Ingestion is
``python -m ragline_llm.ingest``.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

import uvicorn

from ragline_llm import migrations
from ragline_llm.app import create_app
from ragline_llm.settings import LlmSettings


def main(argv: Sequence[str] | None = None) -> int:
    """Parse the command line and run the chosen command (``serve`` by default)."""
    parser = argparse.ArgumentParser(prog="python -m ragline_llm", description=__doc__)
    parser.add_argument("command", nargs="?", choices=["serve", "migrate"], default="serve")
    parser.add_argument("--revision", default="head", help="migrate: target revision")
    parser.add_argument("--downgrade", action="store_true", help="migrate: downgrade instead")
    args = parser.parse_args(argv)
    settings = LlmSettings()
    if args.command == "migrate":
        if args.downgrade:
            migrations.downgrade(settings.database_url, args.revision)
        else:
            migrations.upgrade(settings.database_url, args.revision)
        return 0
    # Our middleware logs each request with its correlation id; uvicorn's would double it.
    uvicorn.run(
        create_app(settings),
        host=settings.host,
        port=settings.port,
        log_config=None,
        access_log=False,
        server_header=False,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
