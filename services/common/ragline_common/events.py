"""Domain events and their CloudEvents 1.0 envelope (structured JSON, ``tenantid`` extension).

Each event type is a pydantic model with a versioned name (``order.created.v1``); its JSON Schema
is generated into ``contracts/events/<type>.json`` and drift-tested, so producers and consumers
agree on the ``data`` of every event. A breaking change is a new model with a new version, never an
edit of an old one.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field

SPEC_VERSION: Literal["1.0"] = "1.0"
SCHEMA_BASE = "https://ragline.dev/schemas/events/"
ENVELOPE_SCHEMA_ID = SCHEMA_BASE + "cloudevent.v1.json"


class OrderStatus(StrEnum):
    """Where an order is in its life; transitions are the API's to decide."""

    CREATED = "created"
    CONFIRMED = "confirmed"
    FULFILLED = "fulfilled"
    CANCELLED = "cancelled"


class EventData(BaseModel):
    """The ``data`` of one event type."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    event_type: ClassVar[str]
    aggregate_type: ClassVar[str]

    def aggregate_id(self) -> str:
        """Return the id of the aggregate the event is about (the stream's message key)."""
        raise NotImplementedError


class OrderLineData(BaseModel):
    """One line of an order as it was priced when the order was placed."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    product_id: uuid.UUID
    sku: str
    name: str
    quantity: int = Field(ge=1)
    unit_price_cents: int = Field(ge=0)
    line_total_cents: int = Field(ge=0)


class _OrderEvent(EventData):
    aggregate_type: ClassVar[str] = "order"

    order_id: uuid.UUID
    user_id: str = Field(description="the customer who placed the order")

    def aggregate_id(self) -> str:
        """Return the order id."""
        return str(self.order_id)


class OrderCreatedV1(_OrderEvent):
    """An order was placed."""

    event_type: ClassVar[str] = "order.created.v1"

    status: Literal[OrderStatus.CREATED] = OrderStatus.CREATED
    lines: list[OrderLineData] = Field(min_length=1)
    total_cents: int = Field(ge=0)
    currency: str = Field(pattern=r"^[A-Z]{3}$")
    note: str | None = None
    created_at: datetime


class _OrderStatusChanged(_OrderEvent):
    from_status: OrderStatus
    changed_by: str = Field(description="the user who made the change")
    occurred_at: datetime


class OrderConfirmedV1(_OrderStatusChanged):
    """An order was confirmed by the restaurant."""

    event_type: ClassVar[str] = "order.confirmed.v1"
    to_status: Literal[OrderStatus.CONFIRMED] = OrderStatus.CONFIRMED


class OrderFulfilledV1(_OrderStatusChanged):
    """An order was handed over."""

    event_type: ClassVar[str] = "order.fulfilled.v1"
    to_status: Literal[OrderStatus.FULFILLED] = OrderStatus.FULFILLED


class OrderCancelledV1(_OrderStatusChanged):
    """An order was cancelled (by the customer or the restaurant)."""

    event_type: ClassVar[str] = "order.cancelled.v1"
    to_status: Literal[OrderStatus.CANCELLED] = OrderStatus.CANCELLED


EVENT_MODELS: dict[str, type[EventData]] = {
    model.event_type: model
    for model in (OrderCreatedV1, OrderConfirmedV1, OrderFulfilledV1, OrderCancelledV1)
}

STATUS_EVENTS: dict[OrderStatus, type[_OrderStatusChanged]] = {
    OrderStatus.CONFIRMED: OrderConfirmedV1,
    OrderStatus.FULFILLED: OrderFulfilledV1,
    OrderStatus.CANCELLED: OrderCancelledV1,
}


def status_changed(
    *,
    to_status: OrderStatus,
    order_id: uuid.UUID,
    user_id: str,
    from_status: OrderStatus,
    changed_by: str,
    occurred_at: datetime,
) -> EventData:
    """Build the event of an order moving to ``to_status`` (never ``created``)."""
    model = STATUS_EVENTS[to_status]
    return model(
        order_id=order_id,
        user_id=user_id,
        from_status=from_status,
        changed_by=changed_by,
        occurred_at=occurred_at,
    )


def schema_id(event_type: str) -> str:
    """Return the ``$id`` (and CloudEvents ``dataschema``) of ``event_type``'s schema."""
    return f"{SCHEMA_BASE}{event_type}.json"


class CloudEvent(BaseModel):
    """A CloudEvents 1.0 structured-mode envelope with RAGline's ``tenantid`` extension."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    specversion: Literal["1.0"] = SPEC_VERSION
    id: str = Field(min_length=1, description="unique per event; consumers de-duplicate on it")
    source: str = Field(min_length=1, description="the producing service, a URI-reference")
    type: str = Field(min_length=1, description="versioned event type, e.g. order.created.v1")
    subject: str = Field(description="<aggregate type>/<aggregate id>")
    time: datetime
    datacontenttype: Literal["application/json"] = "application/json"
    dataschema: str
    tenantid: str = Field(min_length=1, description="extension: the tenant the event belongs to")
    data: dict[str, Any]


def cloud_event(
    data: EventData,
    *,
    tenant_id: str,
    source: str,
    event_id: uuid.UUID | None = None,
    time: datetime | None = None,
) -> dict[str, Any]:
    """Return the structured CloudEvent (a JSON-ready dict) carrying ``data``."""
    return {
        "specversion": SPEC_VERSION,
        "id": str(event_id or uuid.uuid4()),
        "source": source,
        "type": data.event_type,
        "subject": f"{data.aggregate_type}/{data.aggregate_id()}",
        "time": (time or datetime.now(UTC)).isoformat(),
        "datacontenttype": "application/json",
        "dataschema": schema_id(data.event_type),
        "tenantid": tenant_id,
        "data": data.model_dump(mode="json"),
    }


def event_schemas() -> dict[str, dict[str, Any]]:
    """Return ``{file name: JSON Schema}`` of every event's data and of the envelope."""
    schemas: dict[str, dict[str, Any]] = {}
    for event_type, model in sorted(EVENT_MODELS.items()):
        schema = model.model_json_schema()
        schema["$id"] = schema_id(event_type)
        schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
        schemas[f"{event_type}.json"] = schema
    envelope = CloudEvent.model_json_schema()
    envelope["$id"] = ENVELOPE_SCHEMA_ID
    envelope["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schemas["cloudevent.v1.json"] = envelope
    return schemas
