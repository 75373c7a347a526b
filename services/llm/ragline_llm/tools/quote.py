"""``apply_promos``: price a cart from the stored menu and promotions."""

from __future__ import annotations

from dataclasses import asdict
from datetime import datetime
from typing import Any

from ragline_common.db import TenantSession
from ragline_llm.rag import repository
from ragline_llm.tools.promos import CartLine, price_cart
from ragline_llm.tools.specs import CartItem


def merge_items(items: list[CartItem]) -> list[CartLine]:
    """One line per SKU (quantities added up), sorted by SKU: the same cart always looks the
    same, whatever order the model listed it in."""
    quantities: dict[str, int] = {}
    for item in items:
        quantities[item.sku] = quantities.get(item.sku, 0) + item.quantity
    return [CartLine(sku, quantity) for sku, quantity in sorted(quantities.items())]


async def apply_promos(
    session: TenantSession, items: list[CartItem], *, now: datetime
) -> dict[str, Any]:
    """Return the quote of ``items`` for the session's tenant, as the model sees it."""
    cart = merge_items(items)
    entries = await repository.menu(session, skus={line.sku for line in cart})
    rules = await repository.promotions(session)
    quote = price_cart(
        cart, menu={sku: entry.item for sku, entry in entries.items()}, promotions=rules, now=now
    )
    return asdict(quote)
