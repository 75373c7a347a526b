"""The async database engine and the tenant-scoped unit of work every request runs in.

A :class:`TenantSession` opens its connection and transaction only when first used (a request
answered from the cache never touches PostgreSQL), then, inside that transaction, switches to the
application role and sets ``app.tenant_id`` (both ``SET LOCAL``: they end with the transaction, so
a pooled connection never carries a tenant into the next request). Row-level security policies key
on that setting. Services never commit: :func:`tenant_session` commits when the block succeeds and
rolls back when it raises, which is what makes an order and its outbox row atomic. Callbacks
registered with :meth:`TenantSession.after_commit` (cache invalidation) run after the commit and
before the caller's response is sent.

Hot paths can skip SQLAlchemy's per-statement cost (compiling, result wrapping, a greenlet hop:
a good part of a request's CPU) through :meth:`TenantSession.driver`, the pooled asyncpg
connection itself. A session that begins there sends ``BEGIN`` and the scope in one simple-query
round trip (SQLAlchemy would send them as two) and commits or rolls back on the driver; such a
session runs driver statements only, since SQLAlchemy would try to begin a second transaction.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from contextlib import asynccontextmanager
from typing import Any

from sqlalchemy import text
from sqlalchemy.engine import CursorResult
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine
from sqlalchemy.sql import Executable

from ragline_common.logs import get_logger

TENANT_SETTING = "app.tenant_id"
_SET_TENANT = text("SELECT set_config('app.tenant_id', :tenant, true)")
# ``role`` is the GUC behind SET ROLE; set_config(..., true) is SET LOCAL ROLE in one round trip
# together with the tenant.
_SET_ROLE_AND_TENANT = text(
    "SELECT set_config('role', :role, true), set_config('app.tenant_id', :tenant, true)"
)

AfterCommit = Callable[[], Awaitable[None]]


class TransactionAbortedError(RuntimeError):
    """A commit found the transaction aborted by an earlier failed statement (nothing was
    written)."""


# asyncpg ships no type information; this names what :meth:`TenantSession.driver` returns.
DriverConnection = Any
log = get_logger(__name__)


def async_dsn(url: str) -> str:
    """Return ``url`` with the asyncpg driver (``postgresql://`` → ``postgresql+asyncpg://``)."""
    for prefix in ("postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+asyncpg://" + url[len(prefix) :]
    return url


def plain_dsn(url: str) -> str:
    """Return ``url`` without a SQLAlchemy driver (what asyncpg and psql accept)."""
    scheme, sep, rest = url.partition("://")
    return f"{scheme.split('+', 1)[0]}{sep}{rest}"


def quote_literal(value: str) -> str:
    """Return ``value`` as a PostgreSQL string literal (for the one statement that cannot take
    parameters: a simple query, see :func:`begin_scope_sql`).

    An escape string (``E'...'``) reads backslashes the same whatever
    ``standard_conforming_strings`` says, so doubling backslashes and quotes is the whole job.
    """
    if "\x00" in value:
        raise ValueError("a PostgreSQL string cannot hold NUL")
    return "E'" + value.replace("\\", "\\\\").replace("'", "''") + "'"


def begin_scope_sql(*, tenant_id: str, role: str | None) -> str:
    """Return the simple query that begins a transaction scoped to ``tenant_id`` (and ``role``).

    ``role`` is the GUC behind ``SET ROLE``: ``set_config(..., true)`` is ``SET LOCAL``.
    """
    settings = ([("role", role)] if role else []) + [(TENANT_SETTING, tenant_id)]
    calls = ", ".join(
        f"set_config({quote_literal(name)}, {quote_literal(value)}, true)"
        for name, value in settings
    )
    return f"BEGIN; SELECT {calls}"


def create_engine(
    url: str,
    *,
    pool_size: int = 10,
    max_overflow: int = 20,
    application_name: str = "ragline",
) -> AsyncEngine:
    """Create the service's engine; call it in the lifespan, dispose of it at shutdown."""
    return create_async_engine(
        async_dsn(url),
        pool_size=pool_size,
        max_overflow=max_overflow,
        connect_args={"server_settings": {"application_name": application_name}},
    )


class TenantSession:
    """A lazily begun transaction bound to one tenant (and optionally a database role)."""

    def __init__(self, engine: AsyncEngine, *, tenant_id: str, role: str | None) -> None:
        self._engine = engine
        self.tenant_id = tenant_id
        self._role = role
        self._conn: AsyncConnection | None = None
        self._driver: DriverConnection = None
        # True when the transaction began on the driver (see the module's docstring).
        self._on_driver = False
        self._after_commit: list[AfterCommit] = []

    @property
    def started(self) -> bool:
        """Tell whether the transaction has begun."""
        return self._conn is not None

    async def connection(self) -> AsyncConnection:
        """Return the connection, beginning the transaction and scoping it on first use."""
        if self._on_driver:
            raise RuntimeError("this session began on the driver: run driver statements only")
        if self._conn is None:
            conn = await self._engine.connect()
            try:
                await conn.begin()
                if self._role:
                    params = {"role": self._role, "tenant": self.tenant_id}
                    await conn.execute(_SET_ROLE_AND_TENANT, params)
                else:
                    await conn.execute(_SET_TENANT, {"tenant": self.tenant_id})
            except BaseException:
                await conn.close()
                raise
            self._conn = conn
        return self._conn

    async def driver(self) -> DriverConnection:
        """Return the asyncpg connection of the tenant's transaction, beginning it if needed."""
        if self._driver is not None:
            return self._driver
        if self._conn is not None:  # begun by SQLAlchemy: its transaction is the driver's too
            self._driver = (await self._conn.get_raw_connection()).driver_connection
            return self._driver
        conn = await self._engine.connect()
        try:
            driver: DriverConnection = (await conn.get_raw_connection()).driver_connection
            await driver.execute(begin_scope_sql(tenant_id=self.tenant_id, role=self._role))
        except BaseException:
            await conn.invalidate()
            await conn.close()
            raise
        self._conn, self._driver, self._on_driver = conn, driver, True
        return driver

    async def execute(
        self, statement: Executable, params: Mapping[str, Any] | None = None
    ) -> CursorResult[Any]:
        """Execute ``statement`` in the tenant's transaction."""
        conn = await self.connection()
        return await conn.execute(statement, params)

    def after_commit(self, callback: AfterCommit) -> None:
        """Run ``callback`` once the transaction has committed (never if it rolls back)."""
        self._after_commit.append(callback)

    async def commit(self) -> None:
        """Commit (if begun), then run the after-commit callbacks.

        A failing callback is logged and does not undo or hide the commit: the data is durable.
        """
        if self._on_driver:
            # COMMIT of a transaction a failed statement aborted rolls back without an error:
            # only its status tells, and it must not pass for a commit.
            if await self._driver.execute("COMMIT") != "COMMIT":
                raise TransactionAbortedError("the transaction had failed and was rolled back")
        elif self._conn is not None:
            await self._conn.commit()
        callbacks, self._after_commit = self._after_commit, []
        for callback in callbacks:
            try:
                await callback()
            except Exception:
                log.exception("after-commit callback failed", tenant_id=self.tenant_id)

    async def rollback(self) -> None:
        """Roll back (if begun) and drop the after-commit callbacks."""
        self._after_commit = []
        if self._on_driver:
            if self._driver.is_in_transaction():
                await self._driver.execute("ROLLBACK")
        elif self._conn is not None:
            await self._conn.rollback()

    async def close(self) -> None:
        """Return the connection to the pool (a driver connection only once it is idle)."""
        if self._conn is None:
            return
        conn, driver, on_driver = self._conn, self._driver, self._on_driver
        self._conn, self._driver, self._on_driver = None, None, False
        if on_driver and (driver.is_closed() or driver.is_in_transaction()):
            # SQLAlchemy's reset on return knows nothing of a transaction begun on the driver
            # (a failed or cancelled rollback): never pool a connection that may still hold one.
            await conn.invalidate()
        await conn.close()


@asynccontextmanager
async def tenant_session(
    engine: AsyncEngine, *, tenant_id: str, role: str | None
) -> AsyncIterator[TenantSession]:
    """Yield a :class:`TenantSession`; commit if the block succeeds, roll back if it raises."""
    session = TenantSession(engine, tenant_id=tenant_id, role=role)
    try:
        yield session
    except BaseException:
        await session.rollback()
        raise
    else:
        await session.commit()
    finally:
        await session.close()
