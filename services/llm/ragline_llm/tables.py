"""The LLM service's fixed tables (SQLAlchemy Core); chunk tables are made at run time.

The migrations in :mod:`ragline_llm.migrations` create these; the definitions here are what the
code queries. Every tenant-owned row carries ``tenant_id`` and every query filters on it.
"""

from __future__ import annotations

from sqlalchemy import (
    TIMESTAMP,
    BigInteger,
    Column,
    Date,
    Integer,
    MetaData,
    Table,
    Text,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB, UUID

metadata = MetaData()

documents = Table(
    "llm_documents",
    metadata,
    Column("tenant_id", Text, primary_key=True),
    Column("doc_id", Text, primary_key=True),
    Column("kind", Text, nullable=False),
    Column("title", Text, nullable=False),
    Column("body", Text, nullable=False),
    Column("metadata", JSONB, nullable=False),
    Column("origin", Text, nullable=False),
    Column("content_hash", Text, nullable=False),
    Column("updated_at", TIMESTAMP(timezone=True), nullable=False, server_default=text("now()")),
)

promotions = Table(
    "llm_promotions",
    metadata,
    Column("tenant_id", Text, primary_key=True),
    Column("promo_id", Text, primary_key=True),
    Column("spec", JSONB, nullable=False),
    Column("origin", Text, nullable=False),
    Column("updated_at", TIMESTAMP(timezone=True), nullable=False, server_default=text("now()")),
)

vector_tables = Table(
    "llm_vector_tables",
    metadata,
    Column("table_name", Text, primary_key=True),
    Column("provider", Text, nullable=False),
    Column("model", Text, nullable=False),
    Column("dimensions", Integer, nullable=False),
    Column("status", Text, nullable=False),
    Column("created_at", TIMESTAMP(timezone=True), nullable=False, server_default=text("now()")),
    Column("completed_at", TIMESTAMP(timezone=True), nullable=True),
)

conversations = Table(
    "llm_conversations",
    metadata,
    Column("tenant_id", Text, primary_key=True),
    Column("conversation_id", Text, primary_key=True),
    Column("user_id", Text, nullable=False),
    Column("turns", Integer, nullable=False, server_default=text("0")),
    Column("prompt_tokens", BigInteger, nullable=False, server_default=text("0")),
    Column("completion_tokens", BigInteger, nullable=False, server_default=text("0")),
    Column("created_at", TIMESTAMP(timezone=True), nullable=False, server_default=text("now()")),
    Column("updated_at", TIMESTAMP(timezone=True), nullable=False, server_default=text("now()")),
)

token_usage = Table(
    "llm_token_usage",
    metadata,
    Column("tenant_id", Text, primary_key=True),
    Column("day", Date, primary_key=True),
    Column("prompt_tokens", BigInteger, nullable=False, server_default=text("0")),
    Column("completion_tokens", BigInteger, nullable=False, server_default=text("0")),
    Column("requests", BigInteger, nullable=False, server_default=text("0")),
)

# Debezium's outbox shape (see ragline_common.outbox), in a table of its own: the API's
# ``outbox`` may live in the same database and belongs to the API.
outbox = Table(
    "llm_outbox",
    metadata,
    Column("id", UUID(as_uuid=True), primary_key=True),
    Column("aggregatetype", Text, nullable=False),
    Column("aggregateid", Text, nullable=False),
    Column("type", Text, nullable=False),
    Column("payload", JSONB, nullable=False),
    Column("tenant_id", Text, nullable=False),
    Column("created_at", TIMESTAMP(timezone=True), nullable=False, server_default=text("now()")),
    Column("published_at", TIMESTAMP(timezone=True), nullable=True),
    Column("attempts", Integer, nullable=False, server_default=text("0")),
)
