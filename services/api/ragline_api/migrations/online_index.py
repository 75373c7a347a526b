"""Indexes built and dropped ``CONCURRENTLY``, for migrations of tables that keep taking writes.

``CREATE INDEX CONCURRENTLY`` runs outside a transaction, so the table keeps taking orders while
the index is built. A build that failed half-way leaves an invalid index of that name, which is
dropped and built again; a valid one is kept.
"""

from __future__ import annotations

from alembic import op
from sqlalchemy import text

_VALID = text("SELECT i.indisvalid FROM pg_index i WHERE i.indexrelid = to_regclass(:name)")


def create(name: str, definition: str) -> None:
    """Build index ``name`` as ``ON <definition>`` (e.g. ``"outbox (published_at)"``)."""
    bind = op.get_bind()
    with op.get_context().autocommit_block():
        if bind.execute(_VALID, {"name": name}).scalar() is False:
            op.execute(f"DROP INDEX CONCURRENTLY {name}")
        op.execute(f"CREATE INDEX CONCURRENTLY IF NOT EXISTS {name} ON {definition}")


def drop(name: str) -> None:
    """Drop index ``name`` if it exists."""
    with op.get_context().autocommit_block():
        op.execute(f"DROP INDEX CONCURRENTLY IF EXISTS {name}")
