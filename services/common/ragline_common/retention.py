"""Periodic purges of rows past their retention, batch by batch (outbox rows, idempotency keys).

A purge deletes in short batches, each its own statement, until one comes back short: no long
transaction, no lock held across a backlog. ``max_batches`` bounds one round, so a backlog left
by a purge that was off for a while is worked off over several rounds. The round repeats every
interval until cancelled; a failure only skips that round.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

from ragline_common.logs import get_logger

log = get_logger(__name__)

DeleteBatch = Callable[[], Awaitable[int]]


async def purge_in_batches(
    delete_batch: DeleteBatch,
    *,
    batch_size: int,
    max_batches: int | None = None,
    on_deleted: Callable[[int], None] | None = None,
) -> int:
    """Run ``delete_batch`` until it deletes fewer than ``batch_size`` rows; return the total.

    ``on_deleted`` sees each batch's count as it goes (a metric counts what a failing round
    already deleted). Other tasks get the event loop between two batches.
    """
    total = 0
    batches = 0
    while max_batches is None or batches < max_batches:
        deleted = await delete_batch()
        batches += 1
        total += deleted
        if on_deleted is not None:
            on_deleted(deleted)
        if deleted < batch_size:
            break
        await asyncio.sleep(0)
    return total


async def purge_every(
    interval_seconds: float,
    purge: Callable[[], Awaitable[int]],
    *,
    what: str,
    errors: tuple[type[BaseException], ...] = (Exception,),
) -> None:
    """Run ``purge`` every ``interval_seconds`` until cancelled; ``errors`` only skip a round."""
    while True:
        try:
            purged = await purge()
        except errors as exc:
            log.warning("purge failed; trying again later", what=what, error=str(exc))
        else:
            if purged:
                log.info("purged", what=what, rows=purged)
        await asyncio.sleep(interval_seconds)
