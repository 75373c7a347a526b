"""Which status changes an order allows, and who may make them.

::

    created ──▶ confirmed ──▶ fulfilled
       │            │
       └────────────┴──▶ cancelled

Staff and admins make every allowed change; a customer may only cancel their own order, and only
before the restaurant confirmed it. Anything else is refused before the database is written.
"""

from __future__ import annotations

from ragline_api.roles import STAFF_ROLES
from ragline_common.auth import Principal
from ragline_common.errors import ConflictError, FieldProblem, ForbiddenError
from ragline_common.events import OrderStatus

ALLOWED: dict[OrderStatus, frozenset[OrderStatus]] = {
    OrderStatus.CREATED: frozenset({OrderStatus.CONFIRMED, OrderStatus.CANCELLED}),
    OrderStatus.CONFIRMED: frozenset({OrderStatus.FULFILLED, OrderStatus.CANCELLED}),
    OrderStatus.FULFILLED: frozenset(),
    OrderStatus.CANCELLED: frozenset(),
}


def check_transition(
    *, principal: Principal, owner: str, current: OrderStatus, target: OrderStatus
) -> None:
    """Raise 403 if ``principal`` may not make this change, 409 if the order does not allow it."""
    if not principal.has_any(STAFF_ROLES):
        customer_may = (
            owner == principal.user_id
            and current is OrderStatus.CREATED
            and target is OrderStatus.CANCELLED
        )
        if not customer_may:
            raise ForbiddenError("customers may only cancel their own orders before confirmation")
    if target not in ALLOWED[current]:
        raise ConflictError(
            f"an order that is {current.value} cannot become {target.value}",
            errors=[
                FieldProblem(
                    field="status",
                    message=f"not allowed from {current.value}",
                    type="invalid_transition",
                )
            ],
        )
