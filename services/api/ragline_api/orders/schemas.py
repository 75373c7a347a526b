"""Order request and response bodies."""

from __future__ import annotations

import uuid
from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from ragline_api.text import NO_NUL_PATTERN
from ragline_common.events import OrderStatus

# Bounded so one order cannot become a bulk import.
MAX_LINES = 50
MAX_QUANTITY = 99


class OrderLineCreate(BaseModel):
    """A product and how many of it."""

    model_config = ConfigDict(extra="forbid")

    product_id: uuid.UUID
    quantity: int = Field(ge=1, le=MAX_QUANTITY)


class OrderCreate(BaseModel):
    """A new order; prices come from the products, never from the client."""

    model_config = ConfigDict(extra="forbid")

    lines: list[OrderLineCreate] = Field(min_length=1, max_length=MAX_LINES)
    note: str | None = Field(default=None, max_length=500, pattern=NO_NUL_PATTERN)


class OrderLinePublic(BaseModel):
    """A line as priced when the order was placed."""

    product_id: uuid.UUID
    sku: str
    name: str
    quantity: int
    unit_price_cents: int
    line_total_cents: int


class OrderPublic(BaseModel):
    """An order as clients see it."""

    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    user_id: str
    status: OrderStatus
    lines: list[OrderLinePublic]
    total_cents: int
    currency: str
    note: str | None
    version: int = Field(description="incremented by every status change")
    created_at: datetime
    updated_at: datetime


class OrderUpdate(BaseModel):
    """A status change; which ones are allowed depends on the current status and the role."""

    model_config = ConfigDict(extra="forbid")

    status: OrderStatus


class OrderPage(BaseModel):
    """One page of orders; pass ``next_cursor`` as ``cursor`` for the next."""

    items: list[OrderPublic]
    next_cursor: str | None
