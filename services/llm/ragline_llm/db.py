"""The service's engine, and the two kinds of transaction its tables allow.

``hnsw.ef_search`` and ``hnsw.iterative_scan`` travel in the connection's startup packet, so a
search needs no ``SET`` of its own.

Every tenant table is under row-level security (migration ``llm0002``): a row is visible only in
a transaction that names its tenant. Request work runs in a
:class:`~ragline_common.db.TenantSession`, which switches to the application role and sets
``app.tenant_id`` (both transaction-local), so a query that forgot its tenant filter still sees
one tenant's rows: a chat on the session's driver connection (``BEGIN`` and the scope in one
round trip), the SQLAlchemy code of ingestion through :func:`tenant_scope`. Work that spans
tenants on purpose (the index sync, the source ingestion) runs as the tables' owner and calls
:func:`all_tenants` first; without it the owner sees no rows at all.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine

from ragline_common.db import async_dsn, tenant_session

APP_ROLE = "ragline_app"
_ALL_TENANTS = text("SELECT set_config('app.all_tenants', 'on', true)")


def create_engine(
    url: str,
    *,
    ef_search: int,
    pool_size: int = 10,
    max_overflow: int = 20,
    application_name: str = "ragline-llm",
) -> AsyncEngine:
    """Create the engine; call it in the lifespan (or a command), dispose of it at the end."""
    return create_async_engine(
        async_dsn(url),
        pool_size=pool_size,
        max_overflow=max_overflow,
        connect_args={
            "server_settings": {
                "application_name": application_name,
                "hnsw.ef_search": str(ef_search),
                # pgvector 0.8: keep scanning the index until enough rows pass the filters.
                "hnsw.iterative_scan": "relaxed_order",
            }
        },
    )


@asynccontextmanager
async def tenant_scope(
    engine: AsyncEngine, *, tenant_id: str, role: str | None
) -> AsyncIterator[AsyncConnection]:
    """A transaction that sees and writes only ``tenant_id``'s rows; commits if the block does.

    ``role`` (normally :data:`APP_ROLE`) is switched to for the transaction: superusers and,
    without FORCE, owners bypass row-level security. ``None`` keeps the DSN's user.
    """
    async with tenant_session(engine, tenant_id=tenant_id, role=role) as session:
        yield await session.connection()


async def all_tenants(conn: AsyncConnection) -> None:
    """Let the rest of ``conn``'s transaction see every tenant's rows (tables' owner only)."""
    await conn.execute(_ALL_TENANTS)
