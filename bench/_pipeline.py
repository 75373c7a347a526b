"""Shared set-up of the event-pipeline benchmarks (relay, latency, fanout).

Real parts only: PostgreSQL, Valkey and Kafka from :mod:`ragline_dev.infra` in a temporary stack
directory, the services as ``python -m`` processes on 127.0.0.1. The leading underscore keeps this
module out of ``make bench``'s list.
"""

from __future__ import annotations

import asyncio
import json
import os
import secrets
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import asyncpg
import httpx
from sqlalchemy.dialects import postgresql
from sqlalchemy.schema import CreateIndex, CreateTable

from ragline_common.auth import TokenSpec, mint_token
from ragline_common.events import OrderCreatedV1, OrderLineData
from ragline_common.outbox import NOTIFY_CHANNEL, outbox, outbox_row
from ragline_common.registry import (
    SigningKey,
    TenantAuth,
    TenantEntry,
    TenantLimits,
    TenantRegistry,
)
from ragline_dev.infra import Part, PartState, Stack

KID = "k1"
READY_SECONDS = 90.0

TRIGGER_SQL = [
    f"""CREATE FUNCTION ragline_outbox_notify() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  PERFORM pg_notify('{NOTIFY_CHANNEL}', '');
  RETURN NULL;
END
$$""",
    """CREATE TRIGGER outbox_notify AFTER INSERT ON outbox
  FOR EACH STATEMENT EXECUTE FUNCTION ragline_outbox_notify()""",
]


@contextmanager
def stack(parts: Sequence[Part]) -> Iterator[dict[str, PartState]]:
    """Start ``parts`` in a temporary directory; stop and delete them afterwards."""
    with tempfile.TemporaryDirectory(prefix="ragline-bench-") as root:
        running = Stack(root=Path(root), parts=list(parts))
        try:
            yield running.up()
        finally:
            running.close()


async def create_database(admin_dsn: str, name: str) -> str:
    """Create database ``name`` with the outbox (table, index, NOTIFY trigger); return its DSN."""
    admin = await asyncpg.connect(admin_dsn)
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
    finally:
        await admin.close()
    dsn = admin_dsn.rsplit("/", 1)[0] + f"/{name}"
    dialect = postgresql.dialect()  # type: ignore[no-untyped-call]
    statements = [str(CreateTable(outbox).compile(dialect=dialect))]
    statements += [str(CreateIndex(index).compile(dialect=dialect)) for index in outbox.indexes]
    conn = await asyncpg.connect(dsn)
    try:
        for statement in [*statements, *TRIGGER_SQL]:
            await conn.execute(statement)
    finally:
        await conn.close()
    return dsn


COLUMNS = ["id", "aggregatetype", "aggregateid", "type", "payload", "tenant_id", "created_at"]


def order_rows(count: int, *, tenant: str = "acme") -> list[tuple[Any, ...]]:
    """``count`` realistic order.created.v1 outbox rows (COPY records), oldest first."""
    start = datetime.now(UTC)
    records = []
    for index in range(count):
        at = start + timedelta(microseconds=index)
        data = OrderCreatedV1(
            order_id=uuid.uuid4(),
            user_id=f"user-{index % 500}",
            lines=[
                OrderLineData(
                    product_id=uuid.uuid4(),
                    sku="margherita",
                    name="Pizza Margherita",
                    quantity=2,
                    unit_price_cents=950,
                    line_total_cents=1900,
                )
            ],
            total_cents=1900,
            currency="EUR",
            created_at=at,
        )
        row = outbox_row(data, tenant_id=tenant, source="/ragline/api", occurred_at=at)
        records.append(tuple(json.dumps(v) if k == "payload" else v for k, v in row.items()))
    return records


async def fill_outbox(dsn: str, records: list[tuple[Any, ...]]) -> None:
    """COPY ``records`` into the outbox (one transaction, one NOTIFY)."""
    conn = await asyncpg.connect(dsn)
    try:
        await conn.copy_records_to_table("outbox", records=records, columns=COLUMNS)
        await conn.execute("ANALYZE outbox")
    finally:
        await conn.close()


@dataclass
class Registry:
    """A tenant registry on disk and tokens for it."""

    directory: Path
    secrets: dict[str, str] = field(default_factory=dict)

    @property
    def path(self) -> Path:
        return self.directory / "tenants.json"

    @property
    def keys_dir(self) -> Path:
        return self.directory / "keys"

    def write(self, tenants: Sequence[str], *, max_connections: int = 20_000) -> None:
        entries = {}
        for tenant in tenants:
            secret = self.secrets.setdefault(tenant, secrets.token_urlsafe(48))
            key = self.keys_dir / tenant / KID
            key.parent.mkdir(parents=True, exist_ok=True)
            key.write_text(secret)
            entries[tenant] = TenantEntry(
                tenant_id=tenant,
                auth=TenantAuth(issuer=f"https://{tenant}", signing_keys=[SigningKey(kid=KID)]),
                limits=TenantLimits(max_sse_connections=max_connections),
            )
        self.path.write_text(TenantRegistry(tenants=entries).model_dump_json(by_alias=True))

    def token(self, tenant: str, *, roles: Sequence[str] = ("staff",)) -> str:
        spec = TokenSpec(
            tenant_id=tenant,
            user_id="bench",
            roles=list(roles),
            issuer=f"https://{tenant}",
            ttl_seconds=3600,
        )
        return mint_token(spec, secret=self.secrets[tenant], kid=KID)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@dataclass
class Process:
    """A service started with ``python -m``."""

    proc: subprocess.Popen[bytes]
    url: str
    log: Path

    def rss_mb(self) -> float:
        for line in Path(f"/proc/{self.proc.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return round(int(line.split()[1]) / 1024, 1)
        return 0.0

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)


def _tail(log: Path) -> str:
    return log.read_text(errors="replace")[-2000:]


def spawn_service(module: str, env: dict[str, str], *, log: Path) -> Process:
    """Start ``python -m module`` on a free 127.0.0.1 port (not waiting for it)."""
    prefix = "RAGLINE_RELAY_" if module == "ragline_relay" else "RAGLINE_NOTIFIER_"
    port = free_port()
    full = {
        **os.environ,
        f"{prefix}HOST": "127.0.0.1",
        f"{prefix}PORT": str(port),
        f"{prefix}ACCESS_LOG": "false",
        f"{prefix}LOG_LEVEL": "WARNING",
        **env,
    }
    with log.open("ab") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", module], env=full, stdout=out, stderr=subprocess.STDOUT
        )
    return Process(proc=proc, url=f"http://127.0.0.1:{port}", log=log)


async def start_service(module: str, env: dict[str, str], *, log: Path) -> Process:
    """Start ``python -m module`` and wait until its /readyz answers 200."""
    process = spawn_service(module, env, log=log)
    deadline = time.monotonic() + READY_SECONDS
    async with httpx.AsyncClient(base_url=process.url, timeout=2.0) as client:
        while time.monotonic() < deadline:
            if process.proc.poll() is not None:
                raise RuntimeError(f"{module} exited: {_tail(log)}")
            try:
                if (await client.get("/readyz")).status_code == 200:
                    return process
            except httpx.HTTPError:
                pass
            await asyncio.sleep(0.1)
    process.stop()
    raise RuntimeError(f"{module} not ready after {READY_SECONDS:.0f}s: {_tail(log)}")


def percentile(values: Sequence[float], fraction: float) -> float:
    """The ``fraction`` quantile (nearest rank) of ``values``."""
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    index = min(len(ordered) - 1, max(0, round(fraction * len(ordered) + 0.5) - 1))
    return ordered[index]
