"""The demo tenant's knowledge: 6 menu items, 3 policies, 4 FAQs and 2 promotions.

``python -m ragline_llm.ingest --demo TENANT`` ingests it (``make up`` does, for ``demo``).
Product ids are filled in from the API by SKU when ``--api-url`` is given, so ``confirm`` can
order the items.
"""

from __future__ import annotations

from typing import Any

MENU: list[dict[str, Any]] = [
    {
        "id": "menu-margherita",
        "title": "Pizza Margherita",
        "body": "Classic Neapolitan pizza with San Marzano tomato sauce, fior di latte "
        "mozzarella, fresh basil and extra virgin olive oil. Vegetarian.",
        "metadata": {
            "sku": "margherita",
            "price_cents": 950,
            "category": "pizza",
            "dietary": ["vegetarian"],
        },
    },
    {
        "id": "menu-diavola",
        "title": "Pizza Diavola",
        "body": "Hot and spicy pizza with tomato sauce, mozzarella, spicy salami and chili "
        "flakes. Contains pork.",
        "metadata": {"sku": "diavola", "price_cents": 1150, "category": "pizza", "dietary": []},
    },
    {
        "id": "menu-quattro-formaggi",
        "title": "Pizza Quattro Formaggi",
        "body": "White pizza with four cheeses: mozzarella, gorgonzola, parmesan and fontina. "
        "Vegetarian, no tomato.",
        "metadata": {
            "sku": "quattro-formaggi",
            "price_cents": 1250,
            "category": "pizza",
            "dietary": ["vegetarian"],
        },
    },
    {
        "id": "menu-garden-bowl",
        "title": "Vegan Garden Bowl",
        "body": "A salad bowl of quinoa, roasted vegetables, chickpeas, avocado and lemon "
        "tahini dressing. Vegan and gluten free.",
        "metadata": {
            "sku": "garden-bowl",
            "price_cents": 1050,
            "category": "salad",
            "dietary": ["vegan", "vegetarian", "gluten-free"],
        },
    },
    {
        "id": "menu-tiramisu",
        "title": "Tiramisu",
        "body": "Homemade dessert of espresso-soaked ladyfingers, mascarpone cream and cocoa. "
        "Contains eggs and alcohol.",
        "metadata": {
            "sku": "tiramisu",
            "price_cents": 600,
            "category": "dessert",
            "dietary": ["vegetarian"],
        },
    },
    {
        "id": "menu-lemonade",
        "title": "Homemade Lemonade",
        "body": "Freshly squeezed lemon drink with mint and cane sugar, served cold. Vegan.",
        "metadata": {
            "sku": "lemonade",
            "price_cents": 350,
            "category": "drink",
            "dietary": ["vegan", "vegetarian", "gluten-free"],
        },
    },
]

POLICIES: list[dict[str, Any]] = [
    {
        "id": "policy-allergens",
        "title": "Allergen policy",
        "body": "All dishes are prepared in a kitchen that handles gluten, dairy, eggs and nuts. "
        "Ask staff for the allergen sheet. We cannot guarantee the absence of traces.",
    },
    {
        "id": "policy-delivery",
        "title": "Delivery and pickup policy",
        "body": "We deliver within 5 km between 11:30 and 22:00. Delivery costs 2.50 EUR and is "
        "free for orders over 30 EUR. Pickup orders are ready in about 20 minutes.",
    },
    {
        "id": "policy-refunds",
        "title": "Refund and cancellation policy",
        "body": "Orders can be cancelled free of charge until the kitchen confirms them. If "
        "something is wrong with your order, contact us within 24 hours for a refund.",
    },
]

FAQS: list[dict[str, Any]] = [
    {
        "id": "faq-hours",
        "title": "What are your opening hours?",
        "body": "We are open every day from 11:30 to 22:30; the kitchen closes at 22:00.",
    },
    {
        "id": "faq-payment",
        "title": "Which payment methods do you accept?",
        "body": "We accept cards, mobile wallets and cash on pickup.",
    },
    {
        "id": "faq-gluten",
        "title": "Do you have gluten-free options?",
        "body": "Yes: the Vegan Garden Bowl and the lemonade are gluten free. Our pizza dough "
        "contains wheat.",
    },
    {
        "id": "faq-groups",
        "title": "Can I order for a large group?",
        "body": "For more than 10 pizzas please order a day in advance by phone.",
    },
]

PROMOTIONS: list[dict[str, Any]] = [
    {
        "type": "percent_off",
        "id": "pizza-pair",
        "title": "10% off pizzas when you order two or more",
        "percent": 10,
        "category": "pizza",
        "min_quantity": 2,
    },
    {
        "type": "amount_off_order",
        "id": "big-order",
        "title": "3 EUR off orders of 40 EUR or more",
        "amount_cents": 300,
        "min_subtotal_cents": 4000,
    },
]


def demo_bundle(tenant: str) -> dict[str, Any]:
    """The demo knowledge as a bundle for ``tenant``."""
    documents = [
        *({**item, "kind": "menu"} for item in MENU),
        *({**item, "kind": "policy"} for item in POLICIES),
        *({**item, "kind": "faq"} for item in FAQS),
    ]
    return {"tenant": tenant, "documents": documents, "promotions": PROMOTIONS}
