"""Events go to their own tenant's clients only, once, and a slow client is dropped alone."""

from __future__ import annotations

from ragline_notifier.dedup import Dedup
from ragline_notifier.hub import Hub
from ragline_notifier.metrics import NotifierMetrics
from ragline_notifier.positions import RedisCursor
from ragline_notifier.subscriber import SHUTDOWN, Interest, Subscriber
from tests.unit.notifier.helpers import event


def hub() -> Hub:
    return Hub(dedup=Dedup(capacity=100, margin=0), metrics=NotifierMetrics.create())


def client(tenant: str, limit: int = 10) -> Subscriber:
    return Subscriber(Interest(tenant=tenant), limit=limit, transport="SSE", expires_at=1e18)


def test_events_reach_their_tenants_clients_and_no_other() -> None:
    routes = hub()
    acme, acme_too, globex = client("acme"), client("acme"), client("globex")
    for subscriber in (acme, acme_too, globex):
        routes.add(subscriber)
    routes.dispatch([event(1, tenant="acme"), event(2, tenant="globex"), event(3, tenant="acme")])
    assert [e.event_id for e in acme.take()] == ["e1", "e3"]
    assert [e.event_id for e in acme_too.take()] == ["e1", "e3"]
    assert [e.event_id for e in globex.take()] == ["e2"]
    assert routes.frontier == RedisCursor(1000, 3)


def test_a_copy_is_dropped_but_still_moves_the_frontier() -> None:
    routes = hub()
    acme = client("acme")
    routes.add(acme)
    routes.dispatch([event(1, event_id="x"), event(2, event_id="x")])
    assert [e.ref for e in acme.take()] == ["1000-1"]
    assert routes.frontier == RedisCursor(1000, 2)


def test_a_slow_client_is_dropped_while_the_others_get_everything() -> None:
    routes = hub()
    slow, fast = client("acme", limit=1), client("acme", limit=10)
    routes.add(slow)
    routes.add(fast)
    routes.dispatch([event(1), event(2), event(3)])
    assert slow.closing is not None
    assert routes.connections("acme") == 1
    assert [e.event_id for e in fast.take()] == ["e1", "e2", "e3"]


def test_registration_returns_the_frontier_live_events_start_after() -> None:
    routes = hub()
    routes.dispatch([event(1)])
    late = client("acme")
    assert routes.add(late) == RedisCursor(1000, 1)
    routes.dispatch([event(2)])
    assert [e.event_id for e in late.take()] == ["e2"]


def test_shutdown_closes_everyone() -> None:
    routes = hub()
    clients = [client("acme"), client("globex")]
    for subscriber in clients:
        routes.add(subscriber)
    routes.close_all(SHUTDOWN)
    assert routes.size == 0
    assert all(c.closing is SHUTDOWN for c in clients)
