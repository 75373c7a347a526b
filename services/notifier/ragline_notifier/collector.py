"""Keeping Python's garbage collector from pausing the notifier for seconds.

Each held connection is a hundred or so tracked objects (transport, protocol, scope, tasks,
frames); at 10,000 connections a full collection walks about 1.5 million of them and was measured
stopping the event loop for 1-2 seconds — every client's events waited that long. Connections
live long, so they are moved out of the collector's sight with :func:`gc.freeze` every
``FREEZE_SECONDS`` (a cheap list splice): the automatic collections then walk only what is
newer. Frozen objects are still freed by reference counting when a client leaves; only garbage in
reference cycles among them waits for the full collection that runs every ``FULL_SECONDS`` (one
pause per quarter hour instead of several a minute while clients keep arriving).
"""

from __future__ import annotations

import asyncio
import gc
import time

from ragline_common.logs import get_logger

log = get_logger(__name__)
FREEZE_SECONDS = 1.0
FULL_SECONDS = 900.0


async def tend() -> None:
    """Freeze what survived, now and then collect everything; until cancelled."""
    last_full = time.monotonic()
    try:
        while True:
            await asyncio.sleep(FREEZE_SECONDS)
            if time.monotonic() - last_full >= FULL_SECONDS:
                started = time.perf_counter()
                gc.unfreeze()
                collected = gc.collect()
                last_full = time.monotonic()
                log.info(
                    "full garbage collection",
                    collected=collected,
                    pause_ms=round((time.perf_counter() - started) * 1000),
                )
            gc.freeze()
    finally:
        gc.unfreeze()
