"""Referenced Secrets: which are missing (named in a condition) and their checksums.

A workload whose Secret is missing would sit in CreateContainerConfigError; instead the operator
does not roll it out, says which field points at which missing Secret, and retries.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from ragline_operator.models.base import SecretKeySelector
from ragline_operator.reconcile.conditions import Observation, false, true
from ragline_operator.resources.common import secrets_checksum

SECRETS_READY = "SecretsReady"


@dataclass(frozen=True)
class SecretField:
    """A spec field that references a Secret key."""

    path: str
    ref: SecretKeySelector


@dataclass(frozen=True)
class SecretResolution:
    """Values of the referenced keys (None where missing) and what is missing."""

    values: Mapping[tuple[str, str], bytes | None]
    problems: tuple[str, ...]

    def checksum(self, refs: Sequence[SecretKeySelector]) -> str:
        """The checksum of the values ``refs`` point to, for a pod template annotation."""
        return secrets_checksum((ref, self.values.get((ref.name, ref.key))) for ref in refs)

    def text(self, ref: SecretKeySelector) -> str:
        """The value ``ref`` points to as text (surrounding whitespace dropped), "" if missing."""
        value = self.values.get((ref.name, ref.key))
        return value.decode(errors="replace").strip() if value else ""

    def observation(self) -> Observation:
        """``SecretsReady``: True, or False naming every missing Secret or key."""
        if not self.problems:
            return true(SECRETS_READY, "Found", "every referenced Secret key exists")
        reason = "SecretNotFound" if any("not found" in p for p in self.problems) else "KeyNotFound"
        return false(SECRETS_READY, reason, "; ".join(self.problems), failure=True)


def resolve(
    fields: Sequence[SecretField], secrets: Mapping[str, Mapping[str, Any] | None]
) -> SecretResolution:
    """Look each field's key up in ``secrets`` (name → Secret object, None when it is missing)."""
    values: dict[tuple[str, str], bytes | None] = {}
    problems: list[str] = []
    for field in fields:
        ref = field.ref
        secret = secrets.get(ref.name)
        if secret is None:
            problems.append(f"{field.path}: Secret {ref.name!r} not found")
            values[(ref.name, ref.key)] = None
            continue
        raw = (secret.get("data") or {}).get(ref.key)
        if raw is None:
            problems.append(f"{field.path}: Secret {ref.name!r} has no key {ref.key!r}")
            values[(ref.name, ref.key)] = None
            continue
        try:
            values[(ref.name, ref.key)] = base64.b64decode(raw, validate=True)
        except (binascii.Error, ValueError):
            problems.append(f"{field.path}: Secret {ref.name!r} key {ref.key!r} is not base64")
            values[(ref.name, ref.key)] = None
    return SecretResolution(values=values, problems=tuple(dict.fromkeys(problems)))
