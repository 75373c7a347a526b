"""Alembic environment: asyncpg, one transaction per migration, an advisory lock around all."""

from __future__ import annotations

import asyncio

from alembic import context
from sqlalchemy import text
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import create_async_engine
from sqlalchemy.pool import NullPool

from ragline_common.db import async_dsn
from ragline_llm.migrations import ADVISORY_LOCK_KEY, VERSION_TABLE


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
            await connection.execute(text("SELECT pg_advisory_lock(:k)"), {"k": ADVISORY_LOCK_KEY})
            await connection.commit()
            try:
                await connection.run_sync(_run)
                await connection.commit()
            finally:
                await connection.execute(
                    text("SELECT pg_advisory_unlock(:k)"), {"k": ADVISORY_LOCK_KEY}
                )
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
