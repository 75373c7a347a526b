"""The transactional outbox: Debezium's row shape plus the tenant, written in the same transaction
as the change it announces, and read by the relay.

Columns: ``id`` (the event id, also the CloudEvent ``id``), ``aggregatetype``, ``aggregateid``
(the stream message key, so one aggregate's events stay in order), ``type``, ``payload`` (the whole
CloudEvent, JSON), ``tenant_id``, ``created_at``; the relay's bookkeeping is ``published_at``
(NULL while pending) and ``attempts``. An insert fires ``NOTIFY ragline_outbox`` (once per
statement), delivered when the transaction commits, so the relay wakes at once instead of polling.
Published rows are deleted by the relay once older than its retention
(``RAGLINE_RELAY_OUTBOX_RETENTION_SECONDS``).
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import (
    TIMESTAMP,
    Column,
    Index,
    Integer,
    MetaData,
    Table,
    Text,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB, UUID

from ragline_common.events import EventData, cloud_event

OUTBOX_TABLE = "outbox"
NOTIFY_CHANNEL = "ragline_outbox"

metadata = MetaData()

outbox = Table(
    OUTBOX_TABLE,
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
    # The relay scans pending rows oldest first; published rows drop out of this index.
    Index("outbox_pending_idx", "created_at", postgresql_where=text("published_at IS NULL")),
    # The relay's retention purge finds the oldest published rows here; pending rows stay out, so
    # inserts never touch it. Created by the API's migration 0003 (the outbox is the API's table).
    Index(
        "outbox_published_idx", "published_at", postgresql_where=text("published_at IS NOT NULL")
    ),
)


def outbox_row(
    data: EventData,
    *,
    tenant_id: str,
    source: str,
    occurred_at: datetime,
    event_id: uuid.UUID | None = None,
) -> dict[str, Any]:
    """Return the values of the outbox row announcing ``data`` (payload: the CloudEvent)."""
    event_id = event_id or uuid.uuid4()
    return {
        "id": event_id,
        "aggregatetype": data.aggregate_type,
        "aggregateid": data.aggregate_id(),
        "type": data.event_type,
        "payload": cloud_event(
            data, tenant_id=tenant_id, source=source, event_id=event_id, time=occurred_at
        ),
        "tenant_id": tenant_id,
        "created_at": occurred_at,
    }
