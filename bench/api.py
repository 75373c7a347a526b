"""API throughput and latency against a bare FastAPI endpoint measured in the same run.

Starts PostgreSQL and Valkey (``ragline_dev.infra``) in a temporary directory, migrates, writes a
demo registry with limits out of the way, and runs two uvicorn processes on 127.0.0.1: the API
(``python -m ragline_api serve``) and a bare FastAPI app returning a constant (the baseline). A
small keep-alive HTTP/1.1 client on asyncio streams (httpx would be the bottleneck) drives each
for a fixed time with a fixed number of connections:

- ``bare_rps``: the bare endpoint;
- ``products_get_rps`` / ``products_get_p95_ms``: a cached product (JWT, rate limit, cache hit);
- ``ratio_vs_bare``: products_get_rps / bare_rps;
- ``orders_post_per_s`` / ``orders_post_p95_ms``: orders, each with a new Idempotency-Key, its
  outbox row and stored response committed in one transaction, as fast as the connections go;
- ``orders_moderate_p95_ms``: the p95 of orders sent at a steady ``MODERATE_ORDERS_PER_S``
  (timed from when each was due, so a stall counts for every order it delays);
- ``*_cpu_us``: CPU time the server process spent per request while measured (user + system,
  from ``/proc``), and ``cpu_ratio_vs_bare`` = bare_cpu_us / products_get_cpu_us. The machine is
  shared, so rates move with whatever else runs; CPU per request moves far less, which makes it
  the figure to compare two versions by (PostgreSQL's and Valkey's own CPU is not in it).
"""

from __future__ import annotations

import asyncio
import json
import math
import os
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import httpx
from fastapi import FastAPI

from ragline_api import migrations
from ragline_common.registry import TenantLimits
from ragline_dev import procs
from ragline_dev.dev_tenants import (
    DEMO_MENU,
    DEMO_TENANT,
    api_environment,
    mint_dev_token,
    write_dev_tenants,
)
from ragline_dev.infra import Stack
from ragline_dev.infra.postgres import Postgres
from ragline_dev.infra.valkey import Valkey
from ragline_dev.paths import REPO_ROOT

HOST = "127.0.0.1"
CONNECTIONS = 16
WARMUP_S = 1.0
MEASURE_S = 4.0
START_TIMEOUT_S = 30.0
UNLIMITED = TenantLimits(requests_per_second=1_000_000, burst=1_000_000)
# "Moderate load" for the latency aim: a fifth of the throughput aim (1,000 orders/s).
MODERATE_ORDERS_PER_S = 200


def bare_app() -> FastAPI:
    """The baseline: FastAPI returning a small constant JSON body."""
    app = FastAPI()

    @app.get("/ping")
    async def ping() -> dict[str, str]:
        return {"status": "ok"}

    return app


@dataclass
class Load:
    """What one load run measured."""

    latencies: list[float] = field(default_factory=list)
    failures: int = 0
    statuses: dict[int, int] = field(default_factory=dict)
    server_cpu_seconds: float = float("nan")

    def rate(self, seconds: float) -> float:
        return len(self.latencies) / seconds

    def p95_ms(self) -> float:
        ordered = sorted(self.latencies)
        return ordered[int(len(ordered) * 0.95)] * 1000 if ordered else float("nan")

    def cpu_us(self) -> float:
        """Server CPU per measured request, in microseconds."""
        return self.server_cpu_seconds / len(self.latencies) * 1e6 if self.latencies else math.nan


def cpu_seconds(pid: int) -> float:
    """Return the user + system CPU time ``pid`` has used so far (Linux ``/proc``)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def _read_response(reader: asyncio.StreamReader) -> int:
    head = await reader.readuntil(b"\r\n\r\n")
    status = int(head[9:12])
    length = 0
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.lower() == b"content-length":
            length = int(value)
    if length:
        await reader.readexactly(length)
    return status


async def _connection(
    port: int,
    request: Callable[[], bytes],
    *,
    until: float,
    measure_from: float,
    load: Load,
    interval: float = 0.0,
    offset: float = 0.0,
) -> None:
    """Send requests one after another; with ``interval``, one every ``interval`` seconds from
    ``offset`` seconds on, each timed from when it was due."""
    reader, writer = await asyncio.open_connection(HOST, port)
    due = time.perf_counter() + offset
    try:
        while (now := time.perf_counter()) < until:
            if interval:
                if due > now:
                    await asyncio.sleep(due - now)
                now, due = due, due + interval
            writer.write(request())
            status = await _read_response(reader)
            if now >= measure_from:
                load.latencies.append(time.perf_counter() - now)
                load.failures += status >= 300
                load.statuses[status] = load.statuses.get(status, 0) + 1
    finally:
        writer.close()
        await writer.wait_closed()


async def _server_cpu(pid: int, *, measure_from: float, until: float, load: Load) -> None:
    await asyncio.sleep(measure_from - time.perf_counter())
    before = cpu_seconds(pid)
    await asyncio.sleep(until - time.perf_counter())
    load.server_cpu_seconds = cpu_seconds(pid) - before


async def drive(
    port: int, request: Callable[[], bytes], *, pid: int, rate: float | None = None
) -> Load:
    """Run ``CONNECTIONS`` keep-alive connections for warm-up plus ``MEASURE_S`` seconds, as fast
    as they go or at ``rate`` requests per second in all."""
    load = Load()
    start = time.perf_counter()
    measure_from = start + WARMUP_S
    until = measure_from + MEASURE_S
    interval = CONNECTIONS / rate if rate else 0.0
    await asyncio.gather(
        _server_cpu(pid, measure_from=measure_from, until=until, load=load),
        *(
            _connection(
                port,
                request,
                until=until,
                measure_from=measure_from,
                load=load,
                interval=interval,
                # Staggered: connections in step would send bursts, not a steady rate.
                offset=interval * index / CONNECTIONS,
            )
            for index in range(CONNECTIONS)
        ),
    )
    return load


def get_request(path: str, token: str | None = None) -> Callable[[], bytes]:
    auth = f"Authorization: Bearer {token}\r\n" if token else ""
    raw = f"GET {path} HTTP/1.1\r\nHost: {HOST}\r\n{auth}\r\n".encode()
    return lambda: raw


def order_request(token: str, product_id: str) -> Callable[[], bytes]:
    body = json.dumps({"lines": [{"product_id": product_id, "quantity": 2}]}).encode()
    head = (
        f"POST /v1/orders HTTP/1.1\r\nHost: {HOST}\r\nAuthorization: Bearer {token}\r\n"
        f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n"
    ).encode()
    return lambda: head + f"Idempotency-Key: {uuid.uuid4().hex}\r\n\r\n".encode() + body


@contextmanager
def server(argv: list[str], *, env: dict[str, str], log: Path, port: int) -> Iterator[int]:
    """Run a server process until the block ends; wait for its port first; yield its pid."""
    proc = procs.spawn(argv, log=log, env={**os.environ, **env}, cwd=REPO_ROOT)
    try:
        procs.wait_until(
            lambda: procs.port_open(port), what=argv[2], timeout=START_TIMEOUT_S, proc=proc, log=log
        )
        yield proc.pid
    finally:
        procs.stop(proc.pid)


def run() -> dict[str, float]:
    """Measure the bare endpoint, cached product reads and order placement."""
    with tempfile.TemporaryDirectory(prefix="ragline-bench-api-") as tmp:
        root = Path(tmp)
        with Stack(
            root=root / "stack", parts=[Postgres(durable=False), Valkey(durable=False)]
        ) as stack:
            dsn = stack.states["postgres"].endpoints["dsn"]
            redis_url = stack.states["valkey"].endpoints["url"]
            migrations.upgrade(dsn)
            tenants = root / "tenants"
            write_dev_tenants(tenants, limits=UNLIMITED)
            staff = mint_dev_token(tenants, tenant_id=DEMO_TENANT, user_id="bench", roles=["staff"])
            env = {
                **api_environment(database_url=dsn, redis_url=redis_url, directory=tenants),
                "RAGLINE_API_ACCESS_LOG": "false",
                "RAGLINE_API_LOG_LEVEL": "WARNING",
                "RAGLINE_API_DB_POOL_SIZE": str(CONNECTIONS),
            }
            bare_port, api_port = procs.free_port(), procs.free_port()
            bare_argv = [sys.executable, "-m", "uvicorn", "bench.api:bare_app", "--factory"]
            bare_argv += ["--host", HOST, "--port", str(bare_port), "--no-access-log"]
            bare_argv += ["--log-level", "warning"]
            with server(bare_argv, env={}, log=root / "bare.log", port=bare_port) as pid:
                bare = asyncio.run(drive(bare_port, get_request("/ping"), pid=pid))
            api_argv = [sys.executable, "-m", "ragline_api", "serve"]
            api_argv += ["--host", HOST, "--port", str(api_port)]
            with server(api_argv, env=env, log=root / "api.log", port=api_port) as pid:
                base = f"http://{HOST}:{api_port}"
                headers = {"Authorization": f"Bearer {staff}"}
                product = httpx.post(f"{base}/v1/products", json=DEMO_MENU[0], headers=headers)
                product.raise_for_status()
                product_id = product.json()["id"]
                reads = asyncio.run(
                    drive(api_port, get_request(f"/v1/products/{product_id}", staff), pid=pid)
                )
                orders = asyncio.run(drive(api_port, order_request(staff, product_id), pid=pid))
                moderate = asyncio.run(
                    drive(
                        api_port,
                        order_request(staff, product_id),
                        pid=pid,
                        rate=MODERATE_ORDERS_PER_S,
                    )
                )
    if reads.failures or orders.failures or bare.failures or moderate.failures:
        raise RuntimeError(
            f"failed requests: bare {bare.statuses}, reads {reads.statuses}, "
            f"orders {orders.statuses}, moderate orders {moderate.statuses}"
        )
    bare_rps = bare.rate(MEASURE_S)
    products_rps = reads.rate(MEASURE_S)
    return {
        "bare_rps": round(bare_rps, 1),
        "products_get_rps": round(products_rps, 1),
        "products_get_p95_ms": round(reads.p95_ms(), 2),
        "ratio_vs_bare": round(products_rps / bare_rps, 3),
        "orders_post_per_s": round(orders.rate(MEASURE_S), 1),
        "orders_post_p95_ms": round(orders.p95_ms(), 2),
        "orders_moderate_per_s": round(moderate.rate(MEASURE_S), 1),
        "orders_moderate_p95_ms": round(moderate.p95_ms(), 2),
        "bare_cpu_us": round(bare.cpu_us(), 1),
        "products_get_cpu_us": round(reads.cpu_us(), 1),
        "cpu_ratio_vs_bare": round(bare.cpu_us() / reads.cpu_us(), 3),
        "orders_post_cpu_us": round(orders.cpu_us(), 1),
    }


if __name__ == "__main__":
    print(json.dumps(run(), indent=2))
