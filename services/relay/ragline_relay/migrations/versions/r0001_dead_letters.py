"""The relay's dead letters and retry schedule.

Revision ID: relay_0001
Revises:
Create Date: 2026-11-23

``relay_dead_letters`` keeps a whole outbox row that cannot be published (invalid, or out of
attempts) with the reason and attempt count, until an admin replays or discards it.
``relay_retries`` holds when a row the broker refused may be tried again; it is empty while all is
well, so the claim's check against it costs nothing. Neither references the outbox by foreign key:
the outbox belongs to the API's migrations, and dead letters outlive their outbox row.
"""

from __future__ import annotations

from alembic import op

revision = "relay_0001"
down_revision = None
branch_labels = None
depends_on = None

UPGRADE = [
    """
CREATE TABLE relay_dead_letters (
  id uuid PRIMARY KEY,
  aggregatetype text NOT NULL,
  aggregateid text NOT NULL,
  type text NOT NULL,
  payload jsonb NOT NULL,
  tenant_id text NOT NULL,
  created_at timestamptz NOT NULL,
  failed_at timestamptz NOT NULL DEFAULT now(),
  reason text NOT NULL,
  attempts integer NOT NULL
)""",
    "CREATE INDEX relay_dead_letters_tenant_idx ON relay_dead_letters (tenant_id, failed_at, id)",
    """
CREATE TABLE relay_retries (
  event_id uuid PRIMARY KEY,
  not_before timestamptz NOT NULL,
  last_error text NOT NULL
)""",
]


def upgrade() -> None:
    """Create the dead letters and the retry schedule."""
    for statement in UPGRADE:
        op.execute(statement)


def downgrade() -> None:
    """Drop them (dead letters included: downgrade only an empty or disposable database)."""
    op.execute("DROP TABLE relay_retries, relay_dead_letters")
