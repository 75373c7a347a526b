"""Open streams end when their tenant is suspended or removed, or their token expires."""

from __future__ import annotations

from pathlib import Path

from ragline_common.registry import SigningKey, TenantAuth, TenantEntry, TenantRegistry, TenantState
from ragline_notifier.app import build_state, sweep
from ragline_notifier.metrics import NotifierMetrics
from ragline_notifier.settings import NotifierSettings
from ragline_notifier.subscriber import EXPIRED, SUSPENDED, UNREGISTERED, Interest, Subscriber


def registry(path: Path, states: dict[str, TenantState]) -> None:
    entries = {
        tenant: TenantEntry(
            tenant_id=tenant,
            state=state,
            auth=TenantAuth(issuer=f"https://{tenant}", signing_keys=[SigningKey(kid="k1")]),
        )
        for tenant, state in states.items()
    }
    path.write_text(TenantRegistry(tenants=entries).model_dump_json(by_alias=True))


def client(tenant: str, *, expires_at: float = 1e18) -> Subscriber:
    return Subscriber(Interest(tenant=tenant), limit=10, transport="SSE", expires_at=expires_at)


def test_suspended_removed_and_expired_clients_are_closed_the_rest_stay(tmp_path: Path) -> None:
    path = tmp_path / "tenants.json"
    registry(path, {"acme": TenantState.ACTIVE, "globex": TenantState.SUSPENDED})
    settings = NotifierSettings(registry_path=path, keys_dir=tmp_path, registry_reload_seconds=0)
    state = build_state(settings, NotifierMetrics.create())
    fine, expired = client("acme"), client("acme", expires_at=100.0)
    suspended, removed = client("globex"), client("initech")
    for subscriber in (fine, expired, suspended, removed):
        state.hub.add(subscriber)
    sweep(state, now=200.0)
    assert fine.closing is None
    assert expired.closing is EXPIRED
    assert suspended.closing is SUSPENDED
    assert removed.closing is UNREGISTERED
    assert state.hub.size == 1
