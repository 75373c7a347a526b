"""Turning claimed outbox rows into stream messages, refusing the ones that break the contract.

Every payload is validated once, in Rust, against a model made of the CloudEvent envelope with the
event type's own ``data`` model (``model_validate_json`` on the text PostgreSQL sent: no
``json.loads`` and no re-encoding — the message carries the very bytes the API wrote). The envelope
must also agree with its row: the same id, type, tenant and aggregate. An event that names another
tenant than its row would otherwise be shown to the wrong tenant's clients, so it is refused here.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, ValidationError, create_model

from ragline_common.events import EVENT_MODELS, CloudEvent, EventData

# A dead letter's reason is read by a person; the first few schema errors say enough.
MAX_REASON_ERRORS = 3
MAX_REASON_CHARS = 500


@dataclass(frozen=True, slots=True)
class OutboxRow:
    """One claimed outbox row, as the relay reads it (the payload as JSON text)."""

    id: uuid.UUID
    aggregatetype: str
    aggregateid: str
    type: str
    tenant_id: str
    payload: str
    attempts: int


@dataclass(frozen=True, slots=True)
class Message:
    """What goes on the stream for one event.

    ``key`` (the aggregate id) is Kafka's message key; ``tenant``, ``type``, ``key`` and ``user``
    travel beside the CloudEvent so the notifier routes and filters without parsing JSON.
    """

    event_id: str
    key: str
    tenant: str
    type: str
    user: str
    data: bytes


def _envelope(event_type: str, data_model: type[EventData]) -> type[BaseModel]:
    name = "Envelope_" + event_type.replace(".", "_")
    model: type[BaseModel] = create_model(name, __base__=CloudEvent, data=(data_model, ...))
    return model


ENVELOPES: dict[str, type[BaseModel]] = {
    event_type: _envelope(event_type, model) for event_type, model in EVENT_MODELS.items()
}


def _describe(exc: ValidationError) -> str:
    parts = []
    for error in exc.errors(include_input=False)[:MAX_REASON_ERRORS]:
        where = ".".join(str(part) for part in error["loc"]) or "payload"
        parts.append(f"{where}: {error['msg']}")
    more = exc.error_count() - MAX_REASON_ERRORS
    if more > 0:
        parts.append(f"and {more} more")
    return "; ".join(parts)


def _mismatch(row: OutboxRow, event: Any) -> str | None:
    if event.id != str(row.id):
        return "envelope id differs from the outbox row id"
    if event.tenantid != row.tenant_id:
        return "envelope tenantid differs from the outbox row tenant"
    if event.type != row.type:
        return "envelope type differs from the outbox row type"
    data: EventData = event.data
    if data.aggregate_type != row.aggregatetype or data.aggregate_id() != row.aggregateid:
        return "event data names another aggregate than the outbox row"
    return None


def to_message(row: OutboxRow) -> Message | str:
    """Return the stream message of ``row``, or why it cannot be published (a poison event)."""
    envelope = ENVELOPES.get(row.type)
    if envelope is None:
        return f"unknown event type {row.type!r}"
    try:
        event: Any = envelope.model_validate_json(row.payload)
    except ValidationError as exc:
        return f"schema: {_describe(exc)}"[:MAX_REASON_CHARS]
    mismatch = _mismatch(row, event)
    if mismatch is not None:
        return mismatch
    return Message(
        event_id=event.id,
        key=row.aggregateid,
        tenant=row.tenant_id,
        type=row.type,
        user=str(getattr(event.data, "user_id", "")),
        data=row.payload.encode(),
    )
