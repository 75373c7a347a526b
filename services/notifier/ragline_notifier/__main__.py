"""``python -m ragline_notifier``: serve SSE and WebSocket clients from the event stream.

Settings come from ``RAGLINE_NOTIFIER_*`` variables (the broker with ``RAGLINE_NOTIFIER_BACKEND``
and ``RAGLINE_NOTIFIER_REDIS_URL`` or ``RAGLINE_NOTIFIER_KAFKA_BOOTSTRAP_SERVERS``, the tenant
registry with ``RAGLINE_NOTIFIER_REGISTRY_PATH`` and ``RAGLINE_NOTIFIER_KEYS_DIR``), listening on
``RAGLINE_NOTIFIER_HOST``:``RAGLINE_NOTIFIER_PORT``.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence
from types import FrameType

import uvicorn

from ragline_notifier.app import begin_shutdown, create_app
from ragline_notifier.settings import NotifierSettings

# Sessions are told to close at the first signal; whatever still runs after this is cut.
SHUTDOWN_GRACE_SECONDS = 10


class NotifierServer(uvicorn.Server):
    """uvicorn, telling the sessions to close as soon as a stop signal arrives."""

    def __init__(self, config: uvicorn.Config, *, on_exit: Callable[[], None]) -> None:
        super().__init__(config)
        self._on_exit = on_exit

    def handle_exit(self, sig: int, frame: FrameType | None) -> None:
        """Close the sessions, then let uvicorn stop."""
        self._on_exit()
        super().handle_exit(sig, frame)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the notifier."""
    argparse.ArgumentParser(prog="python -m ragline_notifier", description=__doc__).parse_args(argv)
    settings = NotifierSettings()
    app = create_app(settings)
    config = uvicorn.Config(
        app,
        host=settings.host,
        port=settings.port,
        ws="websockets-sansio",
        log_config=None,
        access_log=False,
        server_header=False,
        timeout_graceful_shutdown=SHUTDOWN_GRACE_SECONDS,
    )
    NotifierServer(config, on_exit=lambda: begin_shutdown(app)).run()
    return 0


if __name__ == "__main__":
    sys.exit(main())
