"""Product request and response bodies."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, field_validator

from ragline_api.text import NO_NUL_PATTERN

SKU_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$"
CURRENCY_PATTERN = r"^[A-Z]{3}$"
# A price beyond ten million in minor units is a typo, not a menu item.
MAX_PRICE_CENTS = 1_000_000_000

Sku = Annotated[str, Field(pattern=SKU_PATTERN, description="tenant-unique stock keeping unit")]
Name = Annotated[str, Field(min_length=1, max_length=200, pattern=NO_NUL_PATTERN)]
Description = Annotated[str, Field(max_length=2000, pattern=NO_NUL_PATTERN)]
PriceCents = Annotated[int, Field(ge=0, le=MAX_PRICE_CENTS, description="price in minor units")]
Currency = Annotated[str, Field(pattern=CURRENCY_PATTERN, description="ISO 4217 code")]
Category = Annotated[str, Field(min_length=1, max_length=64, pattern=NO_NUL_PATTERN)]


class ProductCreate(BaseModel):
    """A new product."""

    model_config = ConfigDict(extra="forbid")

    sku: Sku
    name: Name
    description: Description = ""
    price_cents: PriceCents
    currency: Currency = "EUR"
    category: Category | None = None
    available: bool = True


class ProductUpdate(BaseModel):
    """A partial update: only the fields sent change; ``category`` may be set to null."""

    model_config = ConfigDict(extra="forbid")

    sku: Sku | None = None
    name: Name | None = None
    description: Description | None = None
    price_cents: PriceCents | None = None
    currency: Currency | None = None
    category: Category | None = None
    available: bool | None = None

    @field_validator("sku", "name", "description", "price_cents", "currency", "available")
    @classmethod
    def _not_null(cls, value: object) -> object:
        # Runs only for fields that were sent: an explicit null for a required attribute is an
        # error, while an absent field means "unchanged".
        if value is None:
            raise ValueError("may not be null")
        return value


class ProductPublic(BaseModel):
    """A product as clients see it."""

    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    sku: str
    name: str
    description: str
    price_cents: int
    currency: str
    category: str | None
    available: bool
    version: int = Field(description="incremented by every update")
    created_at: datetime
    updated_at: datetime


class ProductPage(BaseModel):
    """One page of products; pass ``next_cursor`` as ``cursor`` for the next."""

    items: list[ProductPublic]
    next_cursor: str | None
