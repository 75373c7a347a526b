"""``confirm``: place the order through the API, exactly once per conversation and cart.

The ``Idempotency-Key`` is derived from the tenant, the customer, the conversation and the cart
(merged and sorted), and the body is built deterministically from the same inputs. So a retry —
of the HTTP call after a lost answer, of the tool call by the model, or of the whole chat request
by the client — sends the same key with the same body, and the API replays the order it placed
instead of placing another. The customer's own token is forwarded: the order is theirs.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
from dataclasses import dataclass
from typing import Any

import httpx

from ragline_common.db import TenantSession
from ragline_common.logs import get_logger
from ragline_llm.rag import repository
from ragline_llm.tools.promos import CartLine
from ragline_llm.tools.quote import merge_items
from ragline_llm.tools.specs import CartItem

log = get_logger(__name__)
ORDERS_PATH = "/v1/orders"
# Worth another try with the same key: the API was busy, restarting, or still finishing the
# first request with this key (409).
_RETRY_STATUSES = frozenset({409, 429, 502, 503, 504})
RETRY_DELAY_SECONDS = 0.2


@dataclass(frozen=True)
class ConfirmTarget:
    """Where and as whom orders are placed."""

    client: httpx.AsyncClient
    api_url: str
    bearer_token: str
    attempts: int


class ConfirmError(Exception):
    """The order could not be placed; the message is for the model (and the customer)."""


def idempotency_key(
    *, tenant_id: str, user_id: str, conversation_id: str, cart: list[CartLine]
) -> str:
    """The order's key: the same conversation and cart always give the same key."""
    canonical = json.dumps(
        [tenant_id, user_id, conversation_id, [[line.sku, line.quantity] for line in cart]],
        separators=(",", ":"),
    )
    return "chat-" + hashlib.sha256(canonical.encode()).hexdigest()[:48]


async def _post(target: ConfirmTarget, *, body: dict[str, Any], key: str) -> httpx.Response:
    headers = {"Authorization": f"Bearer {target.bearer_token}", "Idempotency-Key": key}
    url = target.api_url.rstrip("/") + ORDERS_PATH
    last_error = "no attempt made"
    for attempt in range(1, target.attempts + 1):
        try:
            response = await target.client.post(url, json=body, headers=headers)
        except httpx.TransportError as exc:
            last_error = f"the ordering service could not be reached ({type(exc).__name__})"
        else:
            if response.status_code not in _RETRY_STATUSES and response.status_code < 500:
                return response
            last_error = f"the ordering service answered {response.status_code}"
        log.warning("confirm attempt failed; retrying with the same key", attempt=attempt)
        if attempt < target.attempts:
            await asyncio.sleep(RETRY_DELAY_SECONDS * attempt)
    raise ConfirmError(last_error)


def _problem_detail(response: httpx.Response) -> str:
    try:
        detail = response.json().get("detail")
    except (ValueError, AttributeError):
        detail = None
    return str(detail or f"the ordering service answered {response.status_code}")


async def confirm(
    session: TenantSession,
    target: ConfirmTarget,
    items: list[CartItem],
    *,
    user_id: str,
    conversation_id: str,
) -> tuple[dict[str, Any], str]:
    """Place the order for the session's tenant; return the result for the model and the
    idempotency key used."""
    cart = merge_items(items)
    tenant_id = session.tenant_id
    entries = await repository.menu(session, skus={line.sku for line in cart})
    missing = [line.sku for line in cart if line.sku not in entries]
    unorderable = [
        line.sku for line in cart if line.sku in entries and not entries[line.sku].product_id
    ]
    if missing or unorderable:
        raise ConfirmError(
            "cannot order: "
            + ", ".join(
                [
                    *(f"unknown item {s}" for s in missing),
                    *(f"{s} cannot be ordered online" for s in unorderable),
                ]
            )
        )
    key = idempotency_key(
        tenant_id=tenant_id, user_id=user_id, conversation_id=conversation_id, cart=cart
    )
    body = {
        "lines": [
            {"product_id": str(entries[line.sku].product_id), "quantity": line.quantity}
            for line in cart
        ],
        "note": f"ordered through the assistant (conversation {conversation_id})",
    }
    response = await _post(target, body=body, key=key)
    if response.status_code not in (200, 201):
        raise ConfirmError(_problem_detail(response))
    order = response.json()
    return (
        {
            "order_id": order.get("id"),
            "status": order.get("status"),
            "total_cents": order.get("total_cents"),
            "currency": order.get("currency"),
            "replayed": response.headers.get("Idempotent-Replayed") == "true",
        },
        key,
    )
