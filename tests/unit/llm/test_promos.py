"""Deterministic pricing with promotion rules."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from ragline_llm.tools.promos import (
    AmountOffOrder,
    BuyXGetY,
    CartLine,
    MenuItem,
    PercentOff,
    price_cart,
)
from ragline_llm.tools.quote import merge_items
from ragline_llm.tools.specs import CartItem

NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)
MENU = {
    "margherita": MenuItem("margherita", "Margherita", 950, category="pizza"),
    "diavola": MenuItem("diavola", "Diavola", 1150, category="pizza"),
    "tiramisu": MenuItem("tiramisu", "Tiramisu", 600, category="dessert"),
    "lemonade": MenuItem("lemonade", "Lemonade", 350, category="drink"),
    "sold-out": MenuItem("sold-out", "Sold out", 100, available=False),
}
PIZZA_PAIR = PercentOff(id="pizza-pair", title="10%", percent=10, category="pizza", min_quantity=2)
BIG_ORDER = AmountOffOrder(id="big", title="3 off", amount_cents=300, min_subtotal_cents=4000)
LEMONADE = BuyXGetY(id="lemon", title="2+1", sku="lemonade", buy=2, free=1)


def test_a_cart_without_promotions_is_the_sum_of_its_lines() -> None:
    quote = price_cart(
        [CartLine("margherita", 1), CartLine("tiramisu", 2)], menu=MENU, promotions=[], now=NOW
    )
    assert quote.total_cents == 950 + 1200
    assert quote.order_discount_cents == 0


def test_percent_off_needs_its_minimum_quantity_across_lines() -> None:
    one = price_cart([CartLine("margherita", 1)], menu=MENU, promotions=[PIZZA_PAIR], now=NOW)
    assert one.total_cents == 950
    two = price_cart(
        [CartLine("margherita", 1), CartLine("diavola", 1)],
        menu=MENU,
        promotions=[PIZZA_PAIR],
        now=NOW,
    )
    assert [line.discount_cents for line in two.lines] == [95, 115]
    assert two.total_cents == 2100 - 210


def test_buy_two_get_one_counts_whole_groups_only() -> None:
    quote = price_cart([CartLine("lemonade", 5)], menu=MENU, promotions=[LEMONADE], now=NOW)
    assert quote.lines[0].discount_cents == 350  # 5 = one group of 3 + 2
    assert quote.total_cents == 5 * 350 - 350


def test_order_promotion_applies_after_line_discounts() -> None:
    cart = [CartLine("diavola", 4)]  # 4600, minus 10% = 4140 >= 4000
    quote = price_cart(cart, menu=MENU, promotions=[PIZZA_PAIR, BIG_ORDER], now=NOW)
    assert quote.subtotal_cents == 4140
    assert quote.order_discount_cents == 300
    assert quote.order_promotion == "big"
    assert quote.total_cents == 3840


def test_the_best_line_promotion_wins_and_ties_go_to_the_smaller_id() -> None:
    a = PercentOff(id="b-ten", title="x", percent=10, skus=["diavola"])
    b = PercentOff(id="a-ten", title="y", percent=10, skus=["diavola"])
    c = PercentOff(id="c-five", title="z", percent=5, skus=["diavola"])
    quote = price_cart([CartLine("diavola", 1)], menu=MENU, promotions=[a, c, b], now=NOW)
    assert quote.lines[0].promotion == "a-ten"


def test_promotions_apply_only_in_their_window() -> None:
    later = PIZZA_PAIR.model_copy(update={"starts_at": NOW + timedelta(hours=1)})
    ended = PIZZA_PAIR.model_copy(update={"ends_at": NOW})
    for rule in (later, ended):
        quote = price_cart([CartLine("diavola", 2)], menu=MENU, promotions=[rule], now=NOW)
        assert quote.total_cents == 2300


def test_unknown_and_unavailable_items_are_problems_not_prices() -> None:
    quote = price_cart(
        [CartLine("nope", 1), CartLine("sold-out", 1), CartLine("tiramisu", 1)],
        menu=MENU,
        promotions=[],
        now=NOW,
    )
    assert quote.total_cents == 600
    assert quote.problems == ["unknown item 'nope'", "Sold out is not available"]


def test_the_same_cart_in_any_order_is_the_same_quote() -> None:
    first = merge_items(
        [
            CartItem(sku="diavola", quantity=1),
            CartItem(sku="margherita", quantity=1),
            CartItem(sku="diavola", quantity=2),
        ]
    )
    second = merge_items(
        [CartItem(sku="margherita", quantity=1), CartItem(sku="diavola", quantity=3)]
    )
    assert first == second == [CartLine("diavola", 3), CartLine("margherita", 1)]
    rules: list[PercentOff | BuyXGetY | AmountOffOrder] = [PIZZA_PAIR, BIG_ORDER, LEMONADE]
    assert price_cart(first, menu=MENU, promotions=rules, now=NOW) == price_cart(
        second, menu=MENU, promotions=list(reversed(rules)), now=NOW
    )
