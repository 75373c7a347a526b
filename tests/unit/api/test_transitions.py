"""The order status machine and who may move it."""

from __future__ import annotations

import pytest

from ragline_api.orders.transitions import ALLOWED, check_transition
from ragline_common.auth import Principal
from ragline_common.errors import ConflictError, ForbiddenError
from ragline_common.events import OrderStatus as S

STAFF = Principal(tenant_id="t", user_id="sam", roles=frozenset({"staff"}))
CAROL = Principal(tenant_id="t", user_id="carol", roles=frozenset({"customer"}))
ALL = list(S)


@pytest.mark.parametrize("current", ALL)
@pytest.mark.parametrize("target", ALL)
def test_staff_make_exactly_the_allowed_changes(current: S, target: S) -> None:
    if target in ALLOWED[current]:
        check_transition(principal=STAFF, owner="carol", current=current, target=target)
    else:
        with pytest.raises(ConflictError) as refused:
            check_transition(principal=STAFF, owner="carol", current=current, target=target)
        assert refused.value.errors[0].field == "status"


def test_nothing_leaves_a_final_status() -> None:
    assert ALLOWED[S.FULFILLED] == ALLOWED[S.CANCELLED] == frozenset()


def test_customers_only_cancel_their_own_unconfirmed_orders() -> None:
    check_transition(principal=CAROL, owner="carol", current=S.CREATED, target=S.CANCELLED)
    for owner, current, target in [
        ("dave", S.CREATED, S.CANCELLED),
        ("carol", S.CONFIRMED, S.CANCELLED),
        ("carol", S.CREATED, S.CONFIRMED),
    ]:
        with pytest.raises(ForbiddenError):
            check_transition(principal=CAROL, owner=owner, current=current, target=target)
