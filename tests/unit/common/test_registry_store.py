"""Reading the registry and keys from files that change under us."""

from __future__ import annotations

from pathlib import Path

from ragline_common.registry import TenantAuth, TenantEntry, TenantRegistry
from ragline_common.registry_store import KeyStore, RegistryStore


def publish(path: Path, generation: int, *tenant_ids: str) -> None:
    registry = TenantRegistry(
        generation=generation,
        tenants={
            t: TenantEntry(tenant_id=t, auth=TenantAuth(issuer=f"https://{t}")) for t in tenant_ids
        },
    )
    staging = path.with_suffix(f".{generation}")
    staging.write_text(registry.model_dump_json(by_alias=True))
    staging.replace(path)


def test_a_new_file_is_picked_up_and_a_broken_one_ignored(tmp_path: Path) -> None:
    path = tmp_path / "tenants.json"
    store = RegistryStore(path, reload_seconds=0)
    assert not store.loaded
    assert store.current().tenants == {}
    publish(path, 1, "acme")
    assert set(store.current().tenants) == {"acme"}
    assert store.revision == 1
    publish(path, 2, "acme", "globex")
    assert set(store.current().tenants) == {"acme", "globex"}
    assert store.revision == 2
    path.write_text("{not json")
    assert set(store.current().tenants) == {"acme", "globex"}  # the last good one stays
    path.unlink()
    assert set(store.current().tenants) == {"acme", "globex"}


def test_changes_are_checked_at_most_every_interval(tmp_path: Path) -> None:
    path = tmp_path / "tenants.json"
    publish(path, 1, "acme")
    now = [100.0]
    store = RegistryStore(path, reload_seconds=5, clock=lambda: now[0])
    assert set(store.current().tenants) == {"acme"}
    publish(path, 2, "globex")
    now[0] += 1
    assert set(store.current().tenants) == {"acme"}
    now[0] += 5
    assert set(store.current().tenants) == {"globex"}


def test_keys_are_read_trimmed_and_names_cannot_escape(tmp_path: Path) -> None:
    (tmp_path / "acme").mkdir()
    (tmp_path / "acme" / "k1").write_text("s" * 40 + "\n")
    (tmp_path / "acme" / "short").write_text("tiny")
    (tmp_path / "secret").write_text("t" * 40)
    keys = KeyStore(tmp_path)
    assert keys.secret("acme", "k1") == b"s" * 40
    assert keys.secret("acme", "short") is None
    assert keys.secret("acme", "missing") is None
    assert keys.secret("..", "secret") is None
    assert keys.secret("acme", "../secret") is None
    (tmp_path / "acme" / "k1").write_text("r" * 40)
    assert keys.secret("acme", "k1") == b"r" * 40
