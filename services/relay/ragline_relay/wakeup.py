"""Waking the relay's loops: LISTEN/NOTIFY when rows are committed, polling as the fallback.

The API's outbox trigger sends ``NOTIFY ragline_outbox`` once per inserting statement, delivered at
commit. A dedicated connection listens and rings a :class:`Doorbell`; a loop that found nothing to
do waits on the bell for at most the poll interval, so a lost notification (or a listener that is
reconnecting) delays an event by one poll interval at worst, never forever.
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

import asyncpg

from ragline_common.logs import get_logger
from ragline_common.outbox import NOTIFY_CHANNEL
from ragline_relay.backoff import Backoff

log = get_logger(__name__)
# An idle LISTEN connection is probed this often, so a half-open TCP connection is noticed.
PROBE_SECONDS = 10.0


class Doorbell:
    """A level-triggered wake-up shared by the relay's loops."""

    def __init__(self) -> None:
        self._event = asyncio.Event()

    def ring(self) -> None:
        """Tell every waiting loop there may be work."""
        self._event.set()

    async def wait(self, seconds: float) -> bool:
        """Wait until rung or ``seconds`` pass; return whether it was rung.

        The bell is cleared on return, so a ring arriving while the caller works makes its next
        wait return at once: nothing is missed between two waits.
        """
        if not self._event.is_set():
            try:
                async with asyncio.timeout(seconds):
                    await self._event.wait()
            except TimeoutError:
                return False
        self._event.clear()
        return True


class NotifyListener:
    """Keeps one connection LISTENing on the outbox channel, reconnecting when it drops."""

    def __init__(self, *, dsn: str, doorbell: Doorbell, backoff_cap_seconds: float) -> None:
        self._dsn = dsn
        self._doorbell = doorbell
        self._backoff = Backoff(base=0.1, cap=backoff_cap_seconds)
        self.listening = False

    def _on_notify(self, *_: Any) -> None:
        self._doorbell.ring()

    async def run(self) -> None:
        """Listen until cancelled."""
        while True:
            try:
                await self._listen_once()
            except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
                log.warning("outbox listener lost; polling until it is back", error=str(exc))
            finally:
                self.listening = False
            await asyncio.sleep(self._backoff.next())

    async def _listen_once(self) -> None:
        conn = await asyncpg.connect(
            self._dsn, server_settings={"application_name": "relay-listen"}
        )
        closed = asyncio.Event()
        conn.add_termination_listener(lambda _conn: closed.set())
        try:
            await conn.add_listener(NOTIFY_CHANNEL, self._on_notify)
            self.listening = True
            self._backoff.reset()
            # Rows committed while nobody listened rang no bell: look once.
            self._doorbell.ring()
            while not closed.is_set():
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(PROBE_SECONDS):
                        await closed.wait()
                if not closed.is_set():
                    await conn.fetchval("SELECT 1", timeout=PROBE_SECONDS)
            raise ConnectionResetError("the LISTEN connection closed")
        finally:
            with contextlib.suppress(Exception):
                await conn.close(timeout=1.0)
