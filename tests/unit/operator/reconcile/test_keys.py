"""Signing-key rotation: one current key, the previous one valid for the overlap."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from ragline_operator.models import TenantAuthSpec
from ragline_operator.reconcile.keys import RotationPolicy, next_kid, plan_keys
from ragline_operator.resources.tenant import KeyRecord, SigningKeys

T0 = datetime(2026, 11, 22, 10, 0, tzinfo=UTC)
POLICY = RotationPolicy(every=timedelta(days=30), overlap=timedelta(hours=24))
NOTHING = SigningKeys(records=(), material={})


def test_a_new_tenant_gets_one_current_key() -> None:
    plan = plan_keys(NOTHING, policy=POLICY, now=T0, material=lambda: b"k" * 64)
    assert plan.generated == "2026-11-22-1"
    assert plan.current == KeyRecord("2026-11-22-1", T0)
    assert plan.keys.material == {"2026-11-22-1": b"k" * 64}


def test_planning_again_changes_nothing() -> None:
    first = plan_keys(NOTHING, policy=POLICY, now=T0)
    again = plan_keys(first.keys, policy=POLICY, now=T0 + timedelta(days=1))
    assert again.keys == first.keys
    assert again.generated is None
    assert again.retired == ()


def test_rotation_keeps_the_previous_key_valid_for_the_overlap() -> None:
    first = plan_keys(NOTHING, policy=POLICY, now=T0)
    later = T0 + timedelta(days=30)
    rotated = plan_keys(first.keys, policy=POLICY, now=later)

    assert rotated.generated == "2026-12-22-1"
    assert [r.kid for r in rotated.keys.records] == ["2026-12-22-1", "2026-11-22-1"]
    assert rotated.keys.records[1].not_after == later + timedelta(hours=24)
    assert set(rotated.keys.material) == {"2026-12-22-1", "2026-11-22-1"}

    during_overlap = plan_keys(rotated.keys, policy=POLICY, now=later + timedelta(hours=23))
    assert len(during_overlap.keys.records) == 2

    after_overlap = plan_keys(rotated.keys, policy=POLICY, now=later + timedelta(hours=25))
    assert [r.kid for r in after_overlap.keys.records] == ["2026-12-22-1"]
    assert after_overlap.retired == ("2026-11-22-1",)
    assert set(after_overlap.keys.material) == {"2026-12-22-1"}


def test_a_rotate_annotation_rotates_once_per_new_value() -> None:
    first = plan_keys(NOTHING, policy=POLICY, now=T0)
    asked = plan_keys(first.keys, policy=POLICY, now=T0, rotate_token="please")
    assert asked.generated == "2026-11-22-2"
    again = plan_keys(asked.keys, policy=POLICY, now=T0, rotate_token="please")
    assert again.generated is None
    another = plan_keys(again.keys, policy=POLICY, now=T0, rotate_token="again")
    assert another.generated == "2026-11-22-3"


def test_never_more_than_four_keys() -> None:
    keys = NOTHING
    for n in range(6):
        keys = plan_keys(keys, policy=POLICY, now=T0, rotate_token=str(n)).keys
    assert len(keys.records) == 4
    assert keys.records[0].not_after is None
    assert all(r.not_after is not None for r in keys.records[1:])


def test_a_hand_edited_secret_with_two_current_keys_is_repaired() -> None:
    keys = SigningKeys(
        records=(KeyRecord("a", T0), KeyRecord("b", T0 + timedelta(minutes=1))),
        material={"a": b"a" * 40, "b": b"b" * 40},
    )
    plan = plan_keys(keys, policy=POLICY, now=T0 + timedelta(minutes=2))
    assert plan.generated is None
    assert plan.current.kid == "b"
    assert plan.keys.records[1].not_after is not None


def test_kids_are_unique_per_day() -> None:
    assert next_kid(T0, {}) == "2026-11-22-1"
    assert next_kid(T0, {"2026-11-22-1": 1, "2026-11-22-7": 1, "x": 1}) == "2026-11-22-8"


def test_policy_from_spec_and_defaults() -> None:
    assert RotationPolicy.from_spec(None) == RotationPolicy(
        timedelta(hours=720), timedelta(hours=24)
    )
    spec = TenantAuthSpec.model_validate({"keyRotation": {"every": "1h", "overlap": "10m"}})
    assert RotationPolicy.from_spec(spec) == RotationPolicy(
        timedelta(hours=1), timedelta(minutes=10)
    )


def test_material_is_random_and_long_enough_for_hs256() -> None:
    a = plan_keys(NOTHING, policy=POLICY, now=T0).keys.material["2026-11-22-1"]
    b = plan_keys(NOTHING, policy=POLICY, now=T0).keys.material["2026-11-22-1"]
    assert a != b
    assert len(a) >= 32
