"""``python -m ragline_api serve|migrate``: run the API, or bring its schema up to date.

Both read ``RAGLINE_API_*`` settings (at least ``RAGLINE_API_DATABASE_URL``; ``serve`` also
``RAGLINE_API_REDIS_URL``, ``RAGLINE_API_REGISTRY_PATH`` and ``RAGLINE_API_KEYS_DIR``).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

import uvicorn

from ragline_api import migrations
from ragline_api.app import create_app
from ragline_api.settings import ApiSettings


def main(argv: Sequence[str] | None = None) -> int:
    """Parse the command line and run the chosen command."""
    parser = argparse.ArgumentParser(prog="python -m ragline_api", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    serve = sub.add_parser("serve", help="run the HTTP server")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8000)
    migrate = sub.add_parser("migrate", help="upgrade (or downgrade) the database schema")
    migrate.add_argument("--revision", default="head")
    migrate.add_argument("--downgrade", action="store_true")
    args = parser.parse_args(argv)
    settings = ApiSettings()
    if args.command == "migrate":
        if args.downgrade:
            migrations.downgrade(settings.database_url, args.revision)
        else:
            migrations.upgrade(settings.database_url, args.revision)
        return 0
    # Our middleware logs each request with its correlation id; uvicorn's access log would double
    # it, and its logging config would replace ours.
    uvicorn.run(
        create_app(settings),
        host=args.host,
        port=args.port,
        log_config=None,
        access_log=False,
        server_header=False,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
