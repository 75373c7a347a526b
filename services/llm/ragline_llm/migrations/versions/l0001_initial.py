"""Documents, promotions, vector table registry, conversations, token usage and the outbox.

Revision ID: llm0001
Revises:
Create Date: 2026-11-23

Chunk tables (``rag_chunks_*``) are not created here: their vector size depends on the embedding
model, so :mod:`ragline_llm.rag.index` creates one per embedding at run time and records it in
``llm_vector_tables``. The downgrade drops those too.
"""

from __future__ import annotations

from alembic import op

revision = "llm0001"
down_revision = None
branch_labels = None
depends_on = None

STATEMENTS = [
    """
CREATE TABLE llm_documents (
  tenant_id text NOT NULL,
  doc_id text NOT NULL,
  kind text NOT NULL CHECK (kind IN ('menu', 'policy', 'faq', 'other')),
  title text NOT NULL,
  body text NOT NULL,
  metadata jsonb NOT NULL DEFAULT '{}'::jsonb,
  origin text NOT NULL CHECK (origin IN ('api', 'source')),
  content_hash text NOT NULL,
  updated_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (tenant_id, doc_id)
)""",
    """
CREATE TABLE llm_promotions (
  tenant_id text NOT NULL,
  promo_id text NOT NULL,
  spec jsonb NOT NULL,
  origin text NOT NULL CHECK (origin IN ('api', 'source')),
  updated_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (tenant_id, promo_id)
)""",
    """
CREATE TABLE llm_vector_tables (
  table_name text PRIMARY KEY,
  provider text NOT NULL,
  model text NOT NULL,
  dimensions integer NOT NULL CHECK (dimensions > 0),
  status text NOT NULL CHECK (status IN ('building', 'ready')),
  created_at timestamptz NOT NULL DEFAULT now(),
  completed_at timestamptz
)""",
    """
CREATE TABLE llm_conversations (
  tenant_id text NOT NULL,
  conversation_id text NOT NULL,
  user_id text NOT NULL,
  turns integer NOT NULL DEFAULT 0,
  prompt_tokens bigint NOT NULL DEFAULT 0,
  completion_tokens bigint NOT NULL DEFAULT 0,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (tenant_id, conversation_id)
)""",
    """
CREATE TABLE llm_token_usage (
  tenant_id text NOT NULL,
  day date NOT NULL,
  prompt_tokens bigint NOT NULL DEFAULT 0,
  completion_tokens bigint NOT NULL DEFAULT 0,
  requests bigint NOT NULL DEFAULT 0,
  PRIMARY KEY (tenant_id, day)
)""",
    """
CREATE TABLE llm_outbox (
  id uuid PRIMARY KEY,
  aggregatetype text NOT NULL,
  aggregateid text NOT NULL,
  type text NOT NULL,
  payload jsonb NOT NULL,
  tenant_id text NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now(),
  published_at timestamptz,
  attempts integer NOT NULL DEFAULT 0
)""",
    "CREATE INDEX llm_outbox_pending_idx ON llm_outbox (created_at) WHERE published_at IS NULL",
    # One NOTIFY per inserting statement, delivered at commit (as the API's outbox does).
    """
CREATE FUNCTION ragline_llm_outbox_notify() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  PERFORM pg_notify('ragline_llm_outbox', '');
  RETURN NULL;
END
$$""",
    """
CREATE TRIGGER llm_outbox_notify AFTER INSERT ON llm_outbox
  FOR EACH STATEMENT EXECUTE FUNCTION ragline_llm_outbox_notify()""",
]

DROP_CHUNK_TABLES = """
DO $$
DECLARE name text;
BEGIN
  FOR name IN SELECT table_name FROM llm_vector_tables LOOP
    EXECUTE format('DROP TABLE IF EXISTS %I', name);
  END LOOP;
END
$$"""


def upgrade() -> None:
    """Create the tables, the outbox index and its NOTIFY trigger."""
    op.execute("CREATE EXTENSION IF NOT EXISTS vector")
    for statement in STATEMENTS:
        op.execute(statement)


def downgrade() -> None:
    """Drop everything the upgrade and the index builder created (the extension stays)."""
    op.execute(DROP_CHUNK_TABLES)
    op.execute(
        "DROP TABLE llm_outbox, llm_token_usage, llm_conversations, llm_vector_tables, "
        "llm_promotions, llm_documents"
    )
    op.execute("DROP FUNCTION ragline_llm_outbox_notify()")
