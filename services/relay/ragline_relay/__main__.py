"""``python -m ragline_relay [run|migrate]``: run the relay, or only bring its tables up to date.

Settings come from ``RAGLINE_RELAY_*`` variables (at least ``RAGLINE_RELAY_DATABASE_URL``; the
broker with ``RAGLINE_RELAY_BACKEND`` and ``RAGLINE_RELAY_REDIS_URL`` or
``RAGLINE_RELAY_KAFKA_BOOTSTRAP_SERVERS``). ``run`` (the default) migrates first unless
``RAGLINE_RELAY_MIGRATE=false``, then serves probes, metrics and the dead-letter admin on
``RAGLINE_RELAY_HOST``:``RAGLINE_RELAY_PORT`` while it drains the outbox.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

import uvicorn

from ragline_relay import migrations
from ragline_relay.app import create_app
from ragline_relay.settings import RelaySettings


def main(argv: Sequence[str] | None = None) -> int:
    """Parse the command line and run the chosen command."""
    parser = argparse.ArgumentParser(prog="python -m ragline_relay", description=__doc__)
    parser.add_argument("command", nargs="?", choices=("run", "migrate"), default="run")
    args = parser.parse_args(argv)
    settings = RelaySettings()
    if args.command == "migrate":
        migrations.upgrade(settings.database_url)
        return 0
    # Our middleware logs requests with their correlation id; uvicorn's logging config would
    # replace ours, and its access log would double each line.
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
