"""The tools' arguments (validated) and the JSON function definitions the model is offered.

Only the tenant's enabled tools are offered, and only those run: a call to any other tool is
refused, whatever the model asks.
"""

from __future__ import annotations

import functools
from collections.abc import Collection
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from ragline_common.registry import Tool
from ragline_llm.tokens import estimate_tokens

MAX_MENU_RESULTS = 10
MAX_CART_LINES = 50
MAX_QUANTITY = 99


class _Args(BaseModel):
    model_config = ConfigDict(extra="forbid")


class RetrieveMenuArgs(_Args):
    """Search the menu."""

    query: str = Field(min_length=1, max_length=500, description="what the customer asks for")
    dietary: list[str] = Field(
        default_factory=list, max_length=5, description="tags every item must have, e.g. vegan"
    )
    category: str | None = Field(default=None, max_length=64, description="e.g. pizza, dessert")
    max_price_cents: int | None = Field(default=None, ge=0, description="price ceiling")
    limit: int = Field(default=5, ge=1, le=MAX_MENU_RESULTS)


class CartItem(_Args):
    """A SKU from the menu and how many of it."""

    sku: str = Field(min_length=1, max_length=64)
    quantity: int = Field(default=1, ge=1, le=MAX_QUANTITY)


class ApplyPromosArgs(_Args):
    """Price a cart."""

    items: list[CartItem] = Field(min_length=1, max_length=MAX_CART_LINES)


class ConfirmArgs(_Args):
    """Place the order."""

    items: list[CartItem] = Field(min_length=1, max_length=MAX_CART_LINES)


ARGUMENTS: dict[Tool, type[_Args]] = {
    Tool.RETRIEVE_MENU: RetrieveMenuArgs,
    Tool.APPLY_PROMOS: ApplyPromosArgs,
    Tool.CONFIRM: ConfirmArgs,
}

DESCRIPTIONS: dict[Tool, str] = {
    Tool.RETRIEVE_MENU: (
        "Search the restaurant's menu. Returns matching items with SKU, price in cents, "
        "dietary tags, availability and whether a promotion applies."
    ),
    Tool.APPLY_PROMOS: (
        "Price a cart of menu SKUs with the restaurant's current promotions. Returns each line, "
        "the discounts and the total in cents."
    ),
    Tool.CONFIRM: (
        "Place the order for a cart of menu SKUs. Call it only after the customer has clearly "
        "confirmed the items and quantities. Safe to call again: the same cart in the same "
        "conversation is ordered once."
    ),
}


@functools.cache
def _definition(tool: Tool) -> dict[str, Any]:
    # Building a JSON Schema costs milliseconds; the definitions never change while we run.
    return {
        "type": "function",
        "function": {
            "name": tool.value,
            "description": DESCRIPTIONS[tool],
            "parameters": _parameters(ARGUMENTS[tool]),
        },
    }


def _parameters(model: type[_Args]) -> dict[str, Any]:
    schema = model.model_json_schema()
    schema.pop("title", None)
    schema.pop("description", None)
    for definition in schema.get("$defs", {}).values():
        definition.pop("title", None)
    return schema


def tool_definitions(enabled: Collection[Tool]) -> list[dict[str, Any]]:
    """OpenAI ``tools`` entries for the enabled tools, in a stable order (shared: do not edit)."""
    return [_definition(tool) for tool in Tool if tool in enabled]


@functools.cache
def definitions_tokens(enabled: frozenset[Tool]) -> int:
    """The token estimate of :func:`tool_definitions` for ``enabled``.

    Cached like the definitions: estimating their text takes longer than the rest of a chat's
    prompt work, and there are only a handful of tool sets.
    """
    return estimate_tokens(str(tool_definitions(enabled)))
