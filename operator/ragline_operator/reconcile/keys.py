"""Signing-key rotation for TenantConfigs, as a pure decision over the keys that exist.

A tenant always has exactly one *current* key (no ``notAfter``): new tokens are signed with it.
Rotating generates a new current key and gives the previous one ``notAfter = now + overlap``, so
tokens signed just before the rotation keep verifying until they expire. Keys past ``notAfter``
are dropped; at most :data:`MAX_SIGNING_KEYS` are kept. A rotation happens when the current key
is ``every`` old, or once per new value of the ``ragline.dev/rotate-key`` annotation.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from ragline_operator.models import TenantAuthSpec
from ragline_operator.models.base import parse_duration
from ragline_operator.models.status import MAX_SIGNING_KEYS
from ragline_operator.resources.tenant import KeyRecord, SigningKeys

ROTATE_ANNOTATION = "ragline.dev/rotate-key"
# 48 random bytes as URL-safe text: 64 characters, well above HS256's 32-byte minimum.
KEY_BYTES = 48
DEFAULT_EVERY = "720h"
DEFAULT_OVERLAP = "24h"


@dataclass(frozen=True)
class RotationPolicy:
    """How often keys rotate and how long the previous one stays valid."""

    every: timedelta
    overlap: timedelta

    @classmethod
    def from_spec(cls, auth: TenantAuthSpec | None) -> RotationPolicy:
        """The spec's policy, or the defaults."""
        rotation = auth.key_rotation if auth else None
        return cls(
            every=parse_duration(rotation.every if rotation else DEFAULT_EVERY),
            overlap=parse_duration(rotation.overlap if rotation else DEFAULT_OVERLAP),
        )


@dataclass(frozen=True)
class KeyPlan:
    """The keys a tenant should have now, and what changed to get there."""

    keys: SigningKeys
    generated: str | None
    retired: tuple[str, ...]

    @property
    def current(self) -> KeyRecord:
        """The key new tokens are signed with."""
        return self.keys.records[0]


def new_key_material() -> bytes:
    """Fresh random key material."""
    return secrets.token_urlsafe(KEY_BYTES).encode()


def next_kid(now: datetime, existing: Mapping[str, object]) -> str:
    """``YYYY-MM-DD-N``: readable, sortable, unique among ``existing``."""
    day = now.strftime("%Y-%m-%d")
    taken = [
        int(kid.rsplit("-", 1)[1])
        for kid in existing
        if kid.startswith(f"{day}-") and kid.rsplit("-", 1)[1].isdigit()
    ]
    return f"{day}-{max(taken, default=0) + 1}"


def _rotation_due(
    current: KeyRecord | None,
    *,
    keys: SigningKeys,
    policy: RotationPolicy,
    now: datetime,
    rotate_token: str | None,
) -> bool:
    if current is None or now - current.created_at >= policy.every:
        return True
    return rotate_token is not None and rotate_token != keys.rotated_for


def plan_keys(
    keys: SigningKeys,
    *,
    policy: RotationPolicy,
    now: datetime,
    rotate_token: str | None = None,
    material: Callable[[], bytes] = new_key_material,
) -> KeyPlan:
    """Decide the tenant's keys at ``now``; running it again at the same ``now`` changes nothing."""
    valid = sorted(
        (r for r in keys.records if r.not_after is None or r.not_after > now),
        key=lambda r: r.created_at,
        reverse=True,
    )
    unbounded = [r for r in valid if r.not_after is None]
    current = unbounded[0] if unbounded else None
    # More than one unbounded key (hand-edited Secret): all but the newest start overlapping.
    records = [
        r if r is current or r.not_after is not None else replace(r, not_after=now + policy.overlap)
        for r in valid
    ]
    material_by_kid = dict(keys.material)
    generated = None
    if _rotation_due(current, keys=keys, policy=policy, now=now, rotate_token=rotate_token):
        generated = next_kid(now, material_by_kid)
        material_by_kid[generated] = material()
        records = [
            r if r.not_after is not None else replace(r, not_after=now + policy.overlap)
            for r in records
        ]
        records.insert(0, KeyRecord(kid=generated, created_at=now))
    kept = records[:MAX_SIGNING_KEYS]
    kept_kids = {r.kid for r in kept}
    retired = tuple(r.kid for r in keys.records if r.kid not in kept_kids)
    planned = SigningKeys(
        records=tuple(kept),
        material={kid: material_by_kid[kid] for kid in kept_kids},
        rotated_for=rotate_token if rotate_token is not None else keys.rotated_for,
    )
    return KeyPlan(keys=planned, generated=generated, retired=retired)
