"""A benchmark helper process: holds SSE connections to a notifier, notes broadcast arrivals.

``python -m bench._fanout_clients PORT TOKEN COUNT`` connects COUNT clients (a bounded number at
a time), prints ``connected <n>`` when done, then records when each ``"seq": <n>`` arrives on each
connection until a line arrives on stdin; it then prints the arrivals as JSON and exits. Each
client is a bare asyncio protocol on uvloop that timestamps data as it is received, so the clients
cost far less CPU than the server they measure (and add next to nothing to its latency).
"""

from __future__ import annotations

import asyncio
import json
import re
import resource
import sys
import time
from collections import defaultdict
from typing import cast

import uvloop

CONNECTING_AT_ONCE = 200
CONNECT_TIMEOUT_S = 30.0
_SEQ = re.compile(rb'"seq": (\d+)')


class Client(asyncio.Protocol):
    """One SSE connection: waits for the response head, then notes each broadcast's arrival."""

    def __init__(self, request: bytes, arrivals: dict[int, list[float]]) -> None:
        self.request = request
        self.arrivals = arrivals
        self.head = b""
        self.ready: asyncio.Future[bool] = asyncio.get_running_loop().create_future()

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # uvloop's transports are not asyncio.Transport subclasses, but they write all the same.
        cast(asyncio.WriteTransport, transport).write(self.request)

    def data_received(self, data: bytes) -> None:
        now = time.monotonic()
        if not self.ready.done():
            self.head += data
            if b"\r\n\r\n" in self.head:
                self.ready.set_result(b" 200 " in self.head.split(b"\r\n", 1)[0])
            return
        for match in _SEQ.finditer(data):
            self.arrivals[int(match.group(1))].append(now)

    def connection_lost(self, exc: Exception | None) -> None:
        if not self.ready.done():
            self.ready.set_result(False)


async def _connect(
    port: int, request: bytes, arrivals: dict[int, list[float]], slots: asyncio.Semaphore
) -> asyncio.BaseTransport:
    async with slots:
        loop = asyncio.get_running_loop()
        transport, client = await loop.create_connection(
            lambda: Client(request, arrivals), "127.0.0.1", port
        )
        async with asyncio.timeout(CONNECT_TIMEOUT_S):
            accepted = await client.ready
        if not accepted:
            raise RuntimeError(client.head.decode(errors="replace"))
        return transport


async def main(port: int, token: str, count: int) -> None:
    """Connect, report, record, dump."""
    _, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    request = (
        "GET /v1/stream/notifications HTTP/1.1\r\nHost: 127.0.0.1\r\n"
        f"Authorization: Bearer {token}\r\nAccept: text/event-stream\r\n\r\n"
    ).encode()
    slots = asyncio.Semaphore(CONNECTING_AT_ONCE)
    arrivals: dict[int, list[float]] = defaultdict(list)
    transports = await asyncio.gather(
        *(_connect(port, request, arrivals, slots) for _ in range(count))
    )
    print(f"connected {len(transports)}", flush=True)
    await asyncio.get_running_loop().run_in_executor(None, sys.stdin.readline)
    print(json.dumps(arrivals), flush=True)
    for transport in transports:
        transport.close()


if __name__ == "__main__":
    uvloop.run(main(int(sys.argv[1]), sys.argv[2], int(sys.argv[3])))
