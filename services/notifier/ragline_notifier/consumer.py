"""The live loop: read the stream in the consumer group, hand each batch to the hub, acknowledge.

Acknowledging after the hand-over means a crash re-reads what was not yet handed over; anything
re-read that the hub already saw is dropped as a duplicate. Broker errors never end the loop: it
reconnects with exponential backoff (capped at a few seconds) and rejoins the group, so a broker
restart heals by itself.
"""

from __future__ import annotations

import asyncio
import contextlib

from ragline_common.logs import get_logger
from ragline_notifier.hub import Hub
from ragline_notifier.metrics import NotifierMetrics
from ragline_notifier.settings import NotifierSettings
from ragline_notifier.sources.base import BROKER_ERRORS, StreamSource

log = get_logger(__name__)
FIRST_RETRY_SECONDS = 0.05
MAX_RETRY_SECONDS = 3.0


class Consumer:
    """Feeds the hub from the stream."""

    def __init__(
        self,
        *,
        source: StreamSource,
        hub: Hub,
        settings: NotifierSettings,
        metrics: NotifierMetrics,
    ) -> None:
        self.source = source
        self.hub = hub
        self.settings = settings
        self.metrics = metrics
        self.ready = False  # joined and reading
        self.started = False  # the hub has a frontier
        self._joined = False

    async def run(self) -> None:
        """Read until cancelled."""
        failures = 0
        while True:
            try:
                await self._step()
            except Exception as exc:
                # Broker errors are expected; anything else is a bug, but it must not leave a
                # live process that silently reads nothing either.
                if isinstance(exc, BROKER_ERRORS):
                    log.warning("stream read failed; reconnecting", error=str(exc))
                else:
                    log.exception("stream read failed unexpectedly; reconnecting")
                await self._recover(failures)
                failures += 1
            else:
                failures = 0

    async def _recover(self, failures: int) -> None:
        self.ready = False
        self._joined = False
        self.metrics.consumer_errors.inc()
        with contextlib.suppress(*BROKER_ERRORS):
            await self.source.reset()
        await asyncio.sleep(min(MAX_RETRY_SECONDS, FIRST_RETRY_SECONDS * 2**failures))

    async def _step(self) -> None:
        if not self._joined:
            await self._join()
        events = await self.source.fetch(
            count=self.settings.fetch_count, block_ms=self.settings.fetch_block_ms
        )
        if events:
            self.hub.dispatch(events)
            await self.source.ack(events)

    async def _join(self) -> None:
        cursor = await self.source.start()
        if not self.started:
            # Remember the ids of the stream's latest entries, so a copy a relay publishes just
            # after this process started is recognised too.
            events, complete = await self.source.tail(cursor, self.settings.replay_lookback)
            self.hub.dedup.start(events, complete=complete, frontier=cursor)
            self.hub.frontier = cursor
            self.started = True
        self._joined = True
        self.ready = True
        log.info("reading the stream", position=cursor.encode())
