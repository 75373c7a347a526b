"""The API's tables as SQLAlchemy Core objects (queries only: the migrations own the DDL).

Every table has a ``tenant_id`` and a row-level security policy on it (see the migrations); the
outbox table comes from :mod:`ragline_common.outbox` because the relay reads it too.
"""

from __future__ import annotations

from sqlalchemy import (
    TIMESTAMP,
    BigInteger,
    Boolean,
    Column,
    Integer,
    MetaData,
    PrimaryKeyConstraint,
    Table,
    Text,
    UniqueConstraint,
)
from sqlalchemy.dialects.postgresql import JSONB, UUID

from ragline_common.outbox import outbox

APP_ROLE = "ragline_app"

metadata = MetaData()

products = Table(
    "products",
    metadata,
    Column("id", UUID(as_uuid=True), primary_key=True),
    Column("tenant_id", Text, nullable=False),
    Column("sku", Text, nullable=False),
    Column("name", Text, nullable=False),
    Column("description", Text, nullable=False),
    Column("price_cents", Integer, nullable=False),
    Column("currency", Text, nullable=False),
    Column("category", Text, nullable=True),
    Column("available", Boolean, nullable=False),
    Column("version", Integer, nullable=False),
    Column("created_at", TIMESTAMP(timezone=True), nullable=False),
    Column("updated_at", TIMESTAMP(timezone=True), nullable=False),
    UniqueConstraint("tenant_id", "sku", name="products_tenant_sku_key"),
)

orders = Table(
    "orders",
    metadata,
    Column("id", UUID(as_uuid=True), primary_key=True),
    Column("tenant_id", Text, nullable=False),
    Column("user_id", Text, nullable=False),
    Column("status", Text, nullable=False),
    Column("lines", JSONB, nullable=False),
    Column("total_cents", BigInteger, nullable=False),
    Column("currency", Text, nullable=False),
    Column("note", Text, nullable=True),
    Column("version", Integer, nullable=False),
    Column("created_at", TIMESTAMP(timezone=True), nullable=False),
    Column("updated_at", TIMESTAMP(timezone=True), nullable=False),
)

idempotency_keys = Table(
    "idempotency_keys",
    metadata,
    Column("tenant_id", Text, nullable=False),
    Column("key", Text, nullable=False),
    Column("request_hash", Text, nullable=False),
    Column("status_code", Integer, nullable=True),
    # The exact bytes first sent, so a replay is byte-for-byte identical (jsonb would reorder keys).
    Column("response", Text, nullable=True),
    Column("created_at", TIMESTAMP(timezone=True), nullable=False),
    PrimaryKeyConstraint("tenant_id", "key"),
)

__all__ = ["APP_ROLE", "idempotency_keys", "metadata", "orders", "outbox", "products"]
