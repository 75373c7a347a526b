"""Alembic environment of the relay: asyncpg, its own version table, one run at a time."""

from __future__ import annotations

import asyncio

from alembic import context
from sqlalchemy import text
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import create_async_engine
from sqlalchemy.pool import NullPool

from ragline_common.db import async_dsn
from ragline_relay.migrations import VERSION_TABLE

# Several relays starting together would race to create the same tables.
_LOCK = text("SELECT pg_advisory_lock(hashtext('ragline_relay.migrations'))")
_UNLOCK = text("SELECT pg_advisory_unlock(hashtext('ragline_relay.migrations'))")


def _run(connection: Connection) -> None:
    context.configure(
        connection=connection, transaction_per_migration=True, version_table=VERSION_TABLE
    )
    with context.begin_transaction():
        context.run_migrations()


async def _run_online(url: str) -> None:
    engine = create_async_engine(async_dsn(url), poolclass=NullPool)
    try:
        async with engine.connect() as connection:
            await connection.execute(_LOCK)
            await connection.commit()
            try:
                await connection.run_sync(_run)
                await connection.commit()
            finally:
                await connection.execute(_UNLOCK)
                await connection.commit()
    finally:
        await engine.dispose()


def main() -> None:
    """Run offline (emit SQL) or online (against the database)."""
    url: str = context.config.attributes["database_url"]
    if context.is_offline_mode():
        context.configure(url=url, literal_binds=True, version_table=VERSION_TABLE)
        with context.begin_transaction():
            context.run_migrations()
    else:
        asyncio.run(_run_online(url))


main()
