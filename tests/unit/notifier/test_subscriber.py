"""A client receives what it asked for and may see, and is dropped when it falls behind."""

from __future__ import annotations

from ragline_notifier.positions import RedisCursor
from ragline_notifier.subscriber import Interest, Subscriber
from tests.unit.notifier.helpers import event


def subscriber(interest: Interest, limit: int = 10) -> Subscriber:
    return Subscriber(interest, limit=limit, transport="SSE", expires_at=float("inf"))


def test_a_customer_sees_only_their_own_events() -> None:
    interest = Interest(tenant="acme", user="alice")
    assert interest.wants(event(1, user="alice"))
    assert not interest.wants(event(2, user="bob"))


def test_a_type_filter_matches_exact_types_and_unversioned_prefixes() -> None:
    interest = Interest(tenant="acme", types=frozenset({"order.confirmed", "order.created.v1"}))
    assert interest.wants(event(1, type_="order.confirmed.v1"))
    assert interest.wants(event(2, type_="order.created.v1"))
    assert not interest.wants(event(3, type_="order.cancelled.v1"))
    assert not interest.wants(event(4, type_="order.confirmedish.v1"))


def test_the_orders_channel_and_order_filter_narrow_further() -> None:
    interest = Interest(tenant="acme", prefix="order.", keys=frozenset({"order-7"}))
    assert interest.wants(event(1, key="order-7"))
    assert not interest.wants(event(2, key="order-8"))
    assert not interest.wants(event(3, key="order-7", type_="invoice.paid.v1"))


def test_a_client_too_far_behind_is_closed_with_a_reason_and_its_backlog_dropped() -> None:
    client = subscriber(Interest(tenant="acme"), limit=2)
    assert client.push(event(1))
    assert client.push(event(2))
    assert not client.push(event(3))
    assert client.closing is not None
    assert client.closing.reason == "slow consumer: more than 2 events waiting"
    assert client.closing.code == 4008
    assert client.take() == []


def test_a_client_resuming_ahead_skips_what_it_has_seen() -> None:
    client = subscriber(Interest(tenant="acme"))
    client.skip = RedisCursor(1000, 3)
    for seq in range(2, 6):
        assert client.push(event(seq))
    assert [e.event_id for e in client.take()] == ["e4", "e5"]
    assert client.skip is None
