"""Products, orders, idempotency keys and the outbox, all behind row-level security.

Revision ID: 0001
Revises:
Create Date: 2026-11-22

Every table carries ``tenant_id`` and a policy that shows the role ``ragline_app`` only the rows of
the tenant named by the transaction-local setting ``app.tenant_id`` (no setting: no rows). The API
switches to that role in every transaction (``SET LOCAL ROLE``), because superusers and table
owners bypass row-level security. ``ragline_app`` cannot log in; the DSN's user is granted it.

Roles are cluster-wide and shared by every database of the cluster, so the downgrade leaves the
role in place (dropping it would fail while another database still grants it anything).
"""

from __future__ import annotations

from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

APP_ROLE = "ragline_app"
TENANT_TABLES = ("products", "orders", "idempotency_keys", "outbox")


def _split(script: str) -> list[str]:
    """Split a script of plain statements (no bodies with semicolons) into single statements."""
    return [statement.strip() for statement in script.split(";") if statement.strip()]


CREATE_ROLE = f"""
DO $$
BEGIN
  CREATE ROLE {APP_ROLE} NOLOGIN;
EXCEPTION
  -- another database of the cluster (or a concurrent migration) created it first
  WHEN duplicate_object OR unique_violation THEN NULL;
END
$$
"""

TABLES = _split("""
CREATE TABLE products (
  id uuid PRIMARY KEY,
  tenant_id text NOT NULL,
  sku text NOT NULL,
  name text NOT NULL,
  description text NOT NULL DEFAULT '',
  price_cents integer NOT NULL CHECK (price_cents >= 0),
  currency text NOT NULL CHECK (currency ~ '^[A-Z]{3}$'),
  category text,
  available boolean NOT NULL DEFAULT true,
  version integer NOT NULL DEFAULT 1,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now(),
  CONSTRAINT products_tenant_sku_key UNIQUE (tenant_id, sku)
);
CREATE INDEX products_tenant_page_idx ON products (tenant_id, created_at, id);

CREATE TABLE orders (
  id uuid PRIMARY KEY,
  tenant_id text NOT NULL,
  user_id text NOT NULL,
  status text NOT NULL CHECK (status IN ('created', 'confirmed', 'fulfilled', 'cancelled')),
  lines jsonb NOT NULL,
  total_cents bigint NOT NULL CHECK (total_cents >= 0),
  currency text NOT NULL CHECK (currency ~ '^[A-Z]{3}$'),
  note text,
  version integer NOT NULL DEFAULT 1,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX orders_tenant_page_idx ON orders (tenant_id, created_at, id);
CREATE INDEX orders_tenant_user_idx ON orders (tenant_id, user_id, created_at, id);

CREATE TABLE idempotency_keys (
  tenant_id text NOT NULL,
  key text NOT NULL,
  request_hash text NOT NULL,
  status_code integer,
  response text,
  created_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (tenant_id, key)
);

CREATE TABLE outbox (
  id uuid PRIMARY KEY,
  aggregatetype text NOT NULL,
  aggregateid text NOT NULL,
  type text NOT NULL,
  payload jsonb NOT NULL,
  tenant_id text NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now(),
  published_at timestamptz,
  attempts integer NOT NULL DEFAULT 0
);
CREATE INDEX outbox_pending_idx ON outbox (created_at) WHERE published_at IS NULL;
""")

# One NOTIFY per inserting statement (not per row): the relay only needs to wake up, and
# PostgreSQL delivers it at commit, so a rolled-back order never wakes anyone.
NOTIFY = [
    """
CREATE FUNCTION ragline_outbox_notify() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  PERFORM pg_notify('ragline_outbox', '');
  RETURN NULL;
END
$$""",
    """
CREATE TRIGGER outbox_notify AFTER INSERT ON outbox
  FOR EACH STATEMENT EXECUTE FUNCTION ragline_outbox_notify()""",
]

GRANTS = _split(f"""
GRANT {APP_ROLE} TO CURRENT_USER;
GRANT USAGE ON SCHEMA public TO {APP_ROLE};
GRANT SELECT, INSERT, UPDATE, DELETE ON products TO {APP_ROLE};
GRANT SELECT, INSERT, UPDATE ON orders TO {APP_ROLE};
GRANT SELECT, INSERT, UPDATE ON idempotency_keys TO {APP_ROLE};
GRANT INSERT ON outbox TO {APP_ROLE};
""")


def _policy(table: str) -> list[str]:
    return [
        f"ALTER TABLE {table} ENABLE ROW LEVEL SECURITY",
        f"""CREATE POLICY {table}_tenant_isolation ON {table} TO {APP_ROLE}
  USING (tenant_id = current_setting('app.tenant_id', true))
  WITH CHECK (tenant_id = current_setting('app.tenant_id', true))""",
    ]


def upgrade() -> None:
    """Create the role (if missing), tables, indexes, outbox trigger, grants and policies."""
    statements = [CREATE_ROLE, *TABLES, *NOTIFY, *GRANTS]
    statements += [sql for table in TENANT_TABLES for sql in _policy(table)]
    for statement in statements:
        op.execute(statement)


def downgrade() -> None:
    """Drop everything the upgrade created in this database (the role is cluster-wide: kept)."""
    op.execute("DROP TABLE outbox, idempotency_keys, orders, products")
    op.execute("DROP FUNCTION ragline_outbox_notify()")
    op.execute(f"REVOKE USAGE ON SCHEMA public FROM {APP_ROLE}")
