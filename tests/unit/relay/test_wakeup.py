"""The doorbell never loses a ring that happens while a loop is busy."""

from __future__ import annotations

import asyncio

from ragline_relay.wakeup import Doorbell


async def test_a_ring_while_busy_makes_the_next_wait_return_at_once() -> None:
    bell = Doorbell()
    bell.ring()
    assert await bell.wait(5.0) is True


async def test_an_unrung_bell_times_out() -> None:
    assert await Doorbell().wait(0.01) is False


async def test_one_ring_wakes_every_waiting_loop() -> None:
    bell = Doorbell()
    waiters = [asyncio.create_task(bell.wait(5.0)) for _ in range(3)]
    await asyncio.sleep(0)
    bell.ring()
    assert await asyncio.gather(*waiters) == [True, True, True]
