"""Helpers of the pipeline tests: outbox rows, service processes, SSE and WebSocket clients."""

from __future__ import annotations

import asyncio
import json
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import asyncpg
import httpx
from sqlalchemy.dialects import postgresql
from sqlalchemy.schema import CreateIndex, CreateTable

from ragline_common import outbox as outbox_module
from ragline_common.auth import TokenSpec, mint_token
from ragline_common.events import (
    OrderCreatedV1,
    OrderLineData,
    OrderStatus,
    status_changed,
)
from ragline_common.outbox import NOTIFY_CHANNEL, outbox_row
from ragline_common.registry import (
    SigningKey,
    TenantAuth,
    TenantEntry,
    TenantLimits,
    TenantRegistry,
    TenantState,
)

KID = "k1"
WAIT_SECONDS = 30.0
START_SECONDS = 60.0

# The API's migration installs the same trigger; the tests build the outbox from the shared
# table definition and add it, so they depend on the table's shape, not on the API package.
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


async def create_outbox(dsn: str) -> None:
    """Create the outbox table, its index and the NOTIFY trigger in ``dsn``."""
    dialect = postgresql.dialect()  # type: ignore[no-untyped-call]
    table = outbox_module.outbox
    statements = [str(CreateTable(table).compile(dialect=dialect))]
    statements += [str(CreateIndex(index).compile(dialect=dialect)) for index in table.indexes]
    conn = await asyncpg.connect(dsn)
    try:
        for statement in [*statements, *TRIGGER_SQL]:
            await conn.execute(statement)
    finally:
        await conn.close()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


async def wait_until(
    check: Callable[[], Awaitable[bool] | bool], what: str, seconds: float = WAIT_SECONDS
) -> None:
    """Poll ``check`` until it holds; fail after ``seconds``."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        result = check()
        if not isinstance(result, bool):
            result = await result
        if result:
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"not true after {seconds:.0f}s: {what}")


# --- tenants -------------------------------------------------------------------------------


def issuer(tenant_id: str) -> str:
    return f"https://auth.{tenant_id}.example"


@dataclass
class Tenants:
    """A tenant registry on disk, and tokens for it."""

    directory: Path
    entries: dict[str, TenantEntry] = field(default_factory=dict)
    secrets: dict[str, str] = field(default_factory=dict)
    generation: int = 0

    @property
    def registry_path(self) -> Path:
        return self.directory / "tenants.json"

    @property
    def keys_dir(self) -> Path:
        return self.directory / "keys"

    def add(
        self, tenant_id: str, *, max_connections: int = 100, state: TenantState = TenantState.ACTIVE
    ) -> None:
        secret = secrets.token_urlsafe(48)
        key_file = self.keys_dir / tenant_id / KID
        key_file.parent.mkdir(parents=True, exist_ok=True)
        key_file.write_text(secret + "\n")
        self.secrets[tenant_id] = secret
        self.entries[tenant_id] = TenantEntry(
            tenant_id=tenant_id,
            state=state,
            auth=TenantAuth(issuer=issuer(tenant_id), signing_keys=[SigningKey(kid=KID)]),
            limits=TenantLimits(max_sse_connections=max_connections),
        )
        self.publish()

    def set_state(self, tenant_id: str, state: TenantState) -> None:
        self.entries[tenant_id] = self.entries[tenant_id].model_copy(update={"state": state})
        self.publish()

    def publish(self) -> None:
        self.generation += 1
        registry = TenantRegistry(generation=self.generation, tenants=dict(self.entries))
        staging = self.directory / f".tenants.{self.generation}.json"
        staging.write_text(registry.model_dump_json(by_alias=True))
        staging.replace(self.registry_path)

    def token(
        self,
        tenant_id: str,
        *,
        user: str = "staff-1",
        roles: Sequence[str] = ("staff",),
        ttl_seconds: int = 3600,
    ) -> str:
        spec = TokenSpec(
            tenant_id=tenant_id,
            user_id=user,
            roles=list(roles),
            issuer=issuer(tenant_id),
            ttl_seconds=ttl_seconds,
        )
        return mint_token(spec, secret=self.secrets[tenant_id], kid=KID)

    def headers(self, tenant_id: str, **kwargs: Any) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token(tenant_id, **kwargs)}"}


# --- outbox rows ---------------------------------------------------------------------------


class Clock:
    """Strictly increasing event times, so per-aggregate order is well defined."""

    def __init__(self) -> None:
        self._last = datetime.now(UTC)

    def __call__(self) -> datetime:
        self._last = max(self._last + timedelta(microseconds=1), datetime.now(UTC))
        return self._last


def order_created(
    tenant: str, clock: Clock, *, order_id: uuid.UUID | None = None, user: str = "alice"
) -> dict[str, Any]:
    """The outbox row of a new order."""
    now = clock()
    data = OrderCreatedV1(
        order_id=order_id or uuid.uuid4(),
        user_id=user,
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
        created_at=now,
    )
    return outbox_row(data, tenant_id=tenant, source="/tests", occurred_at=now)


def order_changed(
    tenant: str,
    clock: Clock,
    *,
    order_id: uuid.UUID,
    to_status: OrderStatus,
    from_status: OrderStatus,
    user: str = "alice",
) -> dict[str, Any]:
    """The outbox row of an order changing status."""
    now = clock()
    data = status_changed(
        to_status=to_status,
        order_id=order_id,
        user_id=user,
        from_status=from_status,
        changed_by="staff-1",
        occurred_at=now,
    )
    return outbox_row(data, tenant_id=tenant, source="/tests", occurred_at=now)


INSERT_SQL = """
INSERT INTO outbox (id, aggregatetype, aggregateid, type, payload, tenant_id, created_at)
VALUES ($1, $2, $3, $4, $5, $6, $7)
"""


async def insert_rows(conn: asyncpg.Connection, rows: Sequence[dict[str, Any]]) -> None:
    """Commit ``rows`` in one transaction (one NOTIFY)."""
    records = [
        (
            r["id"],
            r["aggregatetype"],
            r["aggregateid"],
            r["type"],
            json.dumps(r["payload"]),
            r["tenant_id"],
            r["created_at"],
        )
        for r in rows
    ]
    async with conn.transaction():
        await conn.executemany(INSERT_SQL, records)


# --- service processes ---------------------------------------------------------------------


@dataclass
class Service:
    """``python -m <module>`` with its settings in the environment, on 127.0.0.1."""

    module: str
    env: dict[str, str]
    log: Path
    port: int
    proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        self.log.parent.mkdir(parents=True, exist_ok=True)
        with self.log.open("ab") as out:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", self.module],
                env={**os.environ, **self.env},
                stdout=out,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
            )

    async def wait_ready(self, seconds: float = START_SECONDS) -> None:
        async with httpx.AsyncClient(base_url=self.url, timeout=2.0) as client:

            async def ready() -> bool:
                assert self.proc is not None
                if self.proc.poll() is not None:
                    raise AssertionError(f"{self.module} exited:\n{self.tail()}")
                try:
                    return (await client.get("/readyz")).status_code == 200
                except httpx.HTTPError:
                    return False

            await wait_until(ready, f"{self.module} ready", seconds)

    async def started(self) -> Service:
        self.start()
        await self.wait_ready()
        return self

    def kill9(self) -> None:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(timeout=10)

    def stop(self) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.terminate()
        try:
            self.proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(timeout=10)

    def tail(self, lines: int = 40) -> str:
        try:
            return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no log)"

    async def metric(self, name: str, labels: str = "") -> float:
        """Read one sample from /metrics (0 when absent)."""
        async with httpx.AsyncClient(base_url=self.url, timeout=5.0) as client:
            text = (await client.get("/metrics")).text
        wanted = f"{name}{{{labels}}}" if labels else name
        for line in text.splitlines():
            if line.startswith(wanted + " "):
                return float(line.rsplit(" ", 1)[1])
        return 0.0
