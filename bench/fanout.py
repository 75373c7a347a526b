"""fanout: clients held by one notifier process, one event's broadcast to all, memory.

One notifier (its own process, Valkey stream) holds ``CLIENTS`` SSE connections of one tenant,
opened by helper processes (:mod:`bench._fanout_clients`). Then ``BROADCASTS`` events are appended
to the stream, a few seconds apart, and every client notes when each arrived. Reported:
``clients`` held, ``broadcast_p50_ms`` / ``broadcast_p99_ms`` (append → read, over every client
and broadcast), ``delivered`` share, ``rss_mb`` of the notifier with the clients, beside the
baselines of the same run: one client's latency and the idle notifier's RSS.
Aim: 10,000 clients, p99 ≤ 1 s.
"""

from __future__ import annotations

import asyncio
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx
from redis.asyncio import Redis

from bench._pipeline import Process, Registry, percentile, stack, start_service
from ragline_dev.infra import Part
from ragline_dev.infra.valkey import Valkey

CLIENTS = 10_000
CLIENT_PROCESSES = 2
BROADCASTS = 5
BROADCAST_GAP_S = 2.0
CONNECT_TIMEOUT_S = 120.0
SETTLE_S = 3.0
STREAM = "bench:fanout"
AIM = {"clients": 10_000, "broadcast_p99_ms": 1000}


class Clients:
    """One helper process holding ``count`` connections."""

    def __init__(self, port: int, token: str, count: int) -> None:
        self.count = count
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "bench._fanout_clients", str(port), token, str(count)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )

    async def connected(self) -> int:
        assert self.proc.stdout is not None
        line = await asyncio.to_thread(self.proc.stdout.readline)
        if not line.startswith("connected "):
            raise RuntimeError(f"client process failed: {line!r}")
        return int(line.split()[1])

    async def arrivals(self) -> dict[int, list[float]]:
        assert self.proc.stdin is not None
        assert self.proc.stdout is not None
        self.proc.stdin.write("done\n")
        self.proc.stdin.flush()
        line = await asyncio.to_thread(self.proc.stdout.readline)
        self.proc.wait(timeout=30)
        return {int(seq): times for seq, times in json.loads(line).items()}

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(timeout=10)


async def _broadcast(redis: Redis, seq: int) -> float:
    data = json.dumps({"id": f"broadcast-{seq}", "seq": seq, "pad": "x" * 200})
    sent = time.monotonic()
    await redis.xadd(
        STREAM,
        {
            "id": f"broadcast-{seq}",
            "tenant": "acme",
            "type": "order.created.v1",
            "key": f"order-{seq}",
            "user": "bench",
            "data": data,
        },
    )
    return sent


async def _measure(redis: Redis, groups: list[Clients], first_seq: int) -> list[float]:
    sent: dict[int, float] = {}
    for seq in range(first_seq, first_seq + BROADCASTS):
        sent[seq] = await _broadcast(redis, seq)
        await asyncio.sleep(BROADCAST_GAP_S)
    await asyncio.sleep(SETTLE_S)
    latencies: list[float] = []
    for group in groups:
        for seq, times in (await group.arrivals()).items():
            latencies += [(at - sent[seq]) * 1000 for at in times if seq in sent]
    return latencies


async def _connections(notifier: Process) -> int:
    async with httpx.AsyncClient(base_url=notifier.url, timeout=10.0) as client:
        text = (await client.get("/metrics")).text
    for line in text.splitlines():
        if line.startswith('ragline_notifier_connections{transport="SSE"}'):
            return int(float(line.rsplit(" ", 1)[1]))
    return 0


async def _fanout(url: str, workdir: Path) -> dict[str, Any]:
    registry = Registry(workdir / "registry")
    registry.write(["acme"], max_connections=CLIENTS + 100)
    notifier = await start_service(
        "ragline_notifier",
        {
            "RAGLINE_NOTIFIER_REDIS_URL": url,
            "RAGLINE_NOTIFIER_REDIS_STREAM": STREAM,
            "RAGLINE_NOTIFIER_REGISTRY_PATH": str(registry.path),
            "RAGLINE_NOTIFIER_KEYS_DIR": str(registry.keys_dir),
            "RAGLINE_NOTIFIER_MAX_CONNECTIONS": str(CLIENTS + 100),
        },
        log=workdir / "notifier.log",
    )
    redis = Redis.from_url(url)
    token = registry.token("acme")
    port = int(notifier.url.rsplit(":", 1)[1])
    groups: list[Clients] = []
    try:
        idle_rss = notifier.rss_mb()
        one = Clients(port, token, 1)
        groups.append(one)
        async with asyncio.timeout(CONNECT_TIMEOUT_S):
            await one.connected()
        baseline = await _measure(redis, [one], first_seq=0)
        per_process = CLIENTS // CLIENT_PROCESSES
        groups += [Clients(port, token, per_process) for _ in range(CLIENT_PROCESSES)]
        started = time.monotonic()
        async with asyncio.timeout(CONNECT_TIMEOUT_S):
            held = sum([await group.connected() for group in groups[1:]])
        connect_s = time.monotonic() - started
        counted = await _connections(notifier)
        assert counted == held, f"the notifier counts {counted} connections, the clients {held}"
        rss = notifier.rss_mb()
        latencies = await _measure(redis, groups[1:], first_seq=100)
    finally:
        for group in groups:
            group.kill()
        await redis.aclose()
        notifier.stop()
    return {
        "clients": held,
        "broadcast_p50_ms": round(percentile(latencies, 0.50), 1),
        "broadcast_p99_ms": round(percentile(latencies, 0.99), 1),
        "broadcast_max_ms": round(max(latencies), 1),
        "delivered": round(len(latencies) / (held * BROADCASTS), 4),
        "rss_mb": rss,
        "kb_per_client": round((rss - idle_rss) * 1024 / held, 1),
        "connect_s": round(connect_s, 1),
        "baseline_one_client_p50_ms": round(percentile(baseline, 0.50), 2),
        "baseline_idle_rss_mb": idle_rss,
    }


async def run() -> dict[str, Any]:
    """Measure one notifier with ``CLIENTS`` clients."""
    _, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    # The notifier inherits the limit: it needs a descriptor per client and some.
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    parts: list[Part] = [Valkey(durable=False)]
    with tempfile.TemporaryDirectory(prefix="ragline-fanout-") as tmp, stack(parts) as states:
        figures = await _fanout(states["valkey"].endpoints["url"], Path(tmp))
    print(f"fanout: {figures}", flush=True)
    return {**figures, "aim": AIM}
