"""Row-level security on every tenant table of the LLM service, chunk tables included.

Revision ID: llm0002
Revises: llm0001
Create Date: 2026-11-22

Each tenant table gets ``ENABLE`` and ``FORCE ROW LEVEL SECURITY`` (FORCE: the owner, usually
the service's own DSN user, is bound too — only superusers bypass) and two permissive policies:

- ``tenant_isolation`` (everyone): the rows of the tenant named by the transaction-local setting
  ``app.tenant_id``; no setting, no rows. Writes must carry that tenant (``WITH CHECK``).
- ``all_tenants`` (the table's owner only): every row, but only in a transaction that asked for
  it with ``app.all_tenants = 'on'`` — the index sync and the source ingestion, which work across
  tenants on purpose. ``ragline_app`` is never the owner, so a request can never opt in.

Requests run as the role ``ragline_app`` (``SET LOCAL ROLE``, as in the API). The function
``ragline_llm_protect(table)`` applies all of it idempotently; the index builder calls it on
every chunk table it creates at run time, and this migration on the ones already there.

The downgrade removes policies, flags, grants and the function. The role, its membership and the
schema's ``USAGE`` stay: roles are cluster-wide and the API's migration grants the same.
"""

from __future__ import annotations

from alembic import op

revision = "llm0002"
down_revision = "llm0001"
branch_labels = None
depends_on = None

APP_ROLE = "ragline_app"
# table → what a request may do with it (the maintenance paths run as the owner).
FIXED_TABLES = {
    "llm_documents": "SELECT, INSERT, UPDATE, DELETE",
    "llm_promotions": "SELECT, INSERT, UPDATE, DELETE",
    "llm_conversations": "SELECT, INSERT, UPDATE",
    "llm_token_usage": "SELECT, INSERT, UPDATE",
    "llm_outbox": "SELECT, INSERT",
}
CHUNK_TABLES_PRIVILEGES = "SELECT"

CREATE_ROLE = f"""
DO $$
BEGIN
  CREATE ROLE {APP_ROLE} NOLOGIN;
EXCEPTION
  -- another database of the cluster (or a concurrent migration) created it first
  WHEN duplicate_object OR unique_violation THEN NULL;
END
$$"""

# Idempotent, so the index builder can call it on a table that may already be protected.
PROTECT = """
CREATE FUNCTION ragline_llm_protect(tbl regclass) RETURNS void LANGUAGE plpgsql AS $$
DECLARE
  owner name := (SELECT r.rolname FROM pg_class c JOIN pg_roles r ON r.oid = c.relowner
                 WHERE c.oid = tbl);
BEGIN
  EXECUTE format('ALTER TABLE %s ENABLE ROW LEVEL SECURITY', tbl);
  EXECUTE format('ALTER TABLE %s FORCE ROW LEVEL SECURITY', tbl);
  IF NOT EXISTS (SELECT 1 FROM pg_policy WHERE polrelid = tbl AND polname = 'tenant_isolation')
  THEN
    EXECUTE format(
      'CREATE POLICY tenant_isolation ON %s'
      ' USING (tenant_id = current_setting(''app.tenant_id'', true))'
      ' WITH CHECK (tenant_id = current_setting(''app.tenant_id'', true))', tbl);
  END IF;
  IF NOT EXISTS (SELECT 1 FROM pg_policy WHERE polrelid = tbl AND polname = 'all_tenants') THEN
    EXECUTE format(
      'CREATE POLICY all_tenants ON %s TO %I'
      ' USING (current_setting(''app.all_tenants'', true) = ''on'')'
      ' WITH CHECK (current_setting(''app.all_tenants'', true) = ''on'')', tbl, owner);
  END IF;
END
$$"""

UNPROTECT = """
CREATE FUNCTION pg_temp.ragline_llm_unprotect(tbl regclass) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
  EXECUTE format('DROP POLICY IF EXISTS tenant_isolation ON %s', tbl);
  EXECUTE format('DROP POLICY IF EXISTS all_tenants ON %s', tbl);
  EXECUTE format('ALTER TABLE %s NO FORCE ROW LEVEL SECURITY', tbl);
  EXECUTE format('ALTER TABLE %s DISABLE ROW LEVEL SECURITY', tbl);
  EXECUTE format('REVOKE ALL ON %s FROM {role}', tbl);
END
$$""".replace("{role}", APP_ROLE)

# Chunk tables registered but never created (a crash in between) are skipped.
CHUNK_TABLES = (
    "SELECT to_regclass(table_name) AS tbl FROM llm_vector_tables"
    " WHERE to_regclass(table_name) IS NOT NULL"
)


def upgrade() -> None:
    """Create the role (if missing) and the function; protect and grant every tenant table."""
    op.execute(CREATE_ROLE)
    op.execute(f"GRANT {APP_ROLE} TO CURRENT_USER")
    op.execute(f"GRANT USAGE ON SCHEMA public TO {APP_ROLE}")
    op.execute(PROTECT)
    for table, privileges in FIXED_TABLES.items():
        op.execute(f"SELECT ragline_llm_protect('{table}')")
        op.execute(f"GRANT {privileges} ON {table} TO {APP_ROLE}")
    op.execute(
        f"""
DO $$
DECLARE tbl regclass;
BEGIN
  FOR tbl IN {CHUNK_TABLES} LOOP
    PERFORM ragline_llm_protect(tbl);
    EXECUTE format('GRANT {CHUNK_TABLES_PRIVILEGES} ON %s TO {APP_ROLE}', tbl);
  END LOOP;
END
$$"""
    )


def downgrade() -> None:
    """Remove the policies, RLS flags, grants and the function (role and schema usage stay)."""
    op.execute(UNPROTECT)
    for table in FIXED_TABLES:
        op.execute(f"SELECT pg_temp.ragline_llm_unprotect('{table}')")
    op.execute(f"SELECT pg_temp.ragline_llm_unprotect(tbl) FROM ({CHUNK_TABLES}) AS chunks")  # noqa: S608 - constant SQL
    op.execute("DROP FUNCTION pg_temp.ragline_llm_unprotect(regclass)")
    op.execute("DROP FUNCTION ragline_llm_protect(regclass)")
