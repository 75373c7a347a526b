"""The index on the creation time of idempotency keys, which the retention purge reads.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-22

Idempotency keys expire (``RAGLINE_API_IDEMPOTENCY_TTL_SECONDS``); the API's purge deletes the
oldest expired ones in batches, and "oldest keys before the cut-off" is a short range scan of this
index instead of a scan of the whole table.

The index is built ``CONCURRENTLY`` outside a transaction, so a table holding every key ever sent
keeps taking orders while it is built. A build that failed half-way leaves an invalid index of that
name, which is dropped and built again.
"""

from __future__ import annotations

from ragline_api.migrations import online_index

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

INDEX = "idempotency_keys_created_idx"


def upgrade() -> None:
    """Build the index (a valid one of that name is kept)."""
    online_index.create(INDEX, "idempotency_keys (created_at)")


def downgrade() -> None:
    """Drop the index (the purge then scans the whole table)."""
    online_index.drop(INDEX)
