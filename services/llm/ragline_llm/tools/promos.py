"""Deterministic pricing of a cart with a tenant's promotion rules (``apply_promos``).

Same cart, menu, rules and time → same quote, to the cent. All arithmetic is in integer minor
units; percentages round *down* in the customer's favour never exceeding the line. The rules:

1. each line gets at most one line promotion (``percent_off``, ``buy_x_get_y``): the one with the
   largest discount, ties to the smaller ``id``;
2. then at most one order promotion (``amount_off_order``): the largest that applies to the
   subtotal after line discounts, never more than that subtotal;
3. a promotion applies only between ``starts_at`` (inclusive) and ``ends_at`` (exclusive).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

PROMO_ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$"


class _Rule(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str = Field(pattern=PROMO_ID_PATTERN)
    title: str = Field(min_length=1, max_length=200)
    starts_at: datetime | None = None
    ends_at: datetime | None = None

    def active(self, now: datetime) -> bool:
        """Tell whether the promotion applies at ``now``."""
        return (self.starts_at is None or self.starts_at <= now) and (
            self.ends_at is None or now < self.ends_at
        )


class PercentOff(_Rule):
    """``percent`` off the items it names (SKUs, a category, or everything), once the cart holds
    at least ``min_quantity`` of them."""

    type: Literal["percent_off"] = "percent_off"
    percent: int = Field(ge=1, le=100)
    skus: list[str] = Field(default_factory=list)
    category: str | None = None
    min_quantity: int = Field(default=1, ge=1)

    def matches(self, item: MenuItem) -> bool:
        """Tell whether ``item`` is one the promotion names."""
        if self.skus:
            return item.sku in self.skus
        if self.category is not None:
            return item.category == self.category
        return True


class BuyXGetY(_Rule):
    """For every ``buy`` + ``free`` units of ``sku``, ``free`` of them cost nothing."""

    type: Literal["buy_x_get_y"] = "buy_x_get_y"
    sku: str
    buy: int = Field(ge=1)
    free: int = Field(ge=1)


class AmountOffOrder(_Rule):
    """``amount_cents`` off an order whose subtotal reaches ``min_subtotal_cents``."""

    type: Literal["amount_off_order"] = "amount_off_order"
    amount_cents: int = Field(ge=1)
    min_subtotal_cents: int = Field(default=0, ge=0)


Promotion = Annotated[PercentOff | BuyXGetY | AmountOffOrder, Field(discriminator="type")]


@dataclass(frozen=True)
class MenuItem:
    """What pricing needs to know about a menu item."""

    sku: str
    name: str
    price_cents: int
    currency: str = "EUR"
    category: str | None = None
    available: bool = True


@dataclass(frozen=True)
class CartLine:
    """A SKU and how many."""

    sku: str
    quantity: int


@dataclass(frozen=True)
class PricedLine:
    """A line of the quote."""

    sku: str
    name: str
    quantity: int
    unit_price_cents: int
    discount_cents: int
    total_cents: int
    promotion: str | None


@dataclass(frozen=True)
class Quote:
    """The priced cart."""

    lines: list[PricedLine]
    subtotal_cents: int
    order_discount_cents: int
    order_promotion: str | None
    total_cents: int
    currency: str
    problems: list[str] = field(default_factory=list)


def _line_discount(
    rule: PercentOff | BuyXGetY, item: MenuItem, line: CartLine, counts: Mapping[str, int]
) -> int:
    subtotal = item.price_cents * line.quantity
    if isinstance(rule, BuyXGetY):
        if rule.sku != item.sku:
            return 0
        free_units = line.quantity // (rule.buy + rule.free) * rule.free
        return free_units * item.price_cents
    if not rule.matches(item) or counts.get(rule.id, 0) < rule.min_quantity:
        return 0
    return subtotal * rule.percent // 100


def price_cart(
    cart: Sequence[CartLine],
    *,
    menu: Mapping[str, MenuItem],
    promotions: Sequence[PercentOff | BuyXGetY | AmountOffOrder],
    now: datetime,
) -> Quote:
    """Price ``cart`` (see the module doc); unknown or unavailable SKUs are listed as problems."""
    active = sorted((p for p in promotions if p.active(now)), key=lambda p: p.id)
    line_rules = [p for p in active if isinstance(p, PercentOff | BuyXGetY)]
    order_rules = [p for p in active if isinstance(p, AmountOffOrder)]
    problems: list[str] = []
    known: list[tuple[MenuItem, CartLine]] = []
    for line in cart:
        item = menu.get(line.sku)
        if item is None:
            problems.append(f"unknown item {line.sku!r}")
        elif not item.available:
            problems.append(f"{item.name} is not available")
        else:
            known.append((item, line))
    counts = {
        rule.id: sum(line.quantity for item, line in known if rule.matches(item))
        for rule in line_rules
        if isinstance(rule, PercentOff)
    }
    priced = []
    for item, line in known:
        best, best_rule = 0, None
        for rule in line_rules:
            discount = _line_discount(rule, item, line, counts)
            if discount > best:
                best, best_rule = discount, rule.id
        total = item.price_cents * line.quantity - best
        priced.append(
            PricedLine(item.sku, item.name, line.quantity, item.price_cents, best, total, best_rule)
        )
    subtotal = sum(line.total_cents for line in priced)
    order_discount, order_rule = 0, None
    for order_promo in order_rules:
        amount = min(order_promo.amount_cents, subtotal)
        if subtotal >= order_promo.min_subtotal_cents and amount > order_discount:
            order_discount, order_rule = amount, order_promo.id
    currency = known[0][0].currency if known else "EUR"
    return Quote(
        lines=priced,
        subtotal_cents=subtotal,
        order_discount_cents=order_discount,
        order_promotion=order_rule,
        total_cents=subtotal - order_discount,
        currency=currency,
        problems=problems,
    )
