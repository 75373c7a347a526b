"""The service's engine: pooled asyncpg connections with the HNSW search settings built in.

``hnsw.ef_search`` and ``hnsw.iterative_scan`` travel in the connection's startup packet, so a
search needs no ``SET`` (and no transaction around it): one round trip. Single-statement work
uses :func:`autocommit`, which skips the ``BEGIN``/``ROLLBACK`` round trips SQLAlchemy would
otherwise add — on the chat path that is most of the database time.
"""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from ragline_common.db import async_dsn


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


def autocommit(engine: AsyncEngine) -> AsyncEngine:
    """A view of ``engine`` whose statements each commit on their own (same pool)."""
    return engine.execution_options(isolation_level="AUTOCOMMIT")
