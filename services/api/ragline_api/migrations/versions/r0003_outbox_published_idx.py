"""The index of published outbox rows, which the relay's retention purge reads.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-22

``outbox_published_idx`` holds only published rows, in publication order: the relay's purge of
"oldest published rows before the cut-off" is a short range scan of it, not a scan of the whole
outbox. Inserts never touch it (a new row is unpublished); marking a row published adds one entry.
The outbox is this service's table, so its index is too, and the relay never depends on the order
in which the two services migrate.

The index is built ``CONCURRENTLY`` outside a transaction, so an outbox full of rows published
before retention existed keeps taking orders while it is built. A build that failed half-way
leaves an invalid index of that name, which is dropped and built again.
"""

from __future__ import annotations

from ragline_api.migrations import online_index

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

INDEX = "outbox_published_idx"


def upgrade() -> None:
    """Build the index (a valid one of that name is kept)."""
    online_index.create(INDEX, "outbox (published_at) WHERE published_at IS NOT NULL")


def downgrade() -> None:
    """Drop the index (the purge then scans the whole outbox)."""
    online_index.drop(INDEX)
