"""Children of TenantConfigs: a tenant's signing-key Secret and the namespace's tenant registry.

The Secret is the source of truth for key material *and* key metadata: its data holds one entry
per kid (what pods mount at ``<keys dir>/<tenantId>/<kid>``), an annotation lists when each key
was created and until when it verifies. Status only mirrors it, so a lost status loses nothing.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from ragline_common.registry import REGISTRY_KEY
from ragline_operator.models.base import format_time, parse_time
from ragline_operator.resources.common import (
    LABEL_COMPONENT,
    LABEL_MANAGED_BY,
    LABEL_PART_OF,
    LABEL_TENANT,
    MANAGER,
    PART_OF,
    REGISTRY_CONFIGMAP,
    Manifest,
    OwnerRef,
    object_meta,
)

SIGNING_KEY = "signing-key"
ANNOTATION_KEYS = "ragline.dev/signing-keys"
ANNOTATION_ROTATED_FOR = "ragline.dev/rotated-for"
REGISTRY = "tenant-registry"


@dataclass(frozen=True)
class KeyRecord:
    """Metadata of one signing key."""

    kid: str
    created_at: datetime
    not_after: datetime | None = None

    def to_json(self) -> dict[str, str]:
        """The annotation and status shape."""
        record = {"kid": self.kid, "createdAt": format_time(self.created_at)}
        if self.not_after is not None:
            record["notAfter"] = format_time(self.not_after)
        return record

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> KeyRecord:
        """Parse :meth:`to_json` output."""
        not_after = data.get("notAfter")
        return cls(
            kid=str(data["kid"]),
            created_at=parse_time(str(data["createdAt"])),
            not_after=parse_time(str(not_after)) if not_after else None,
        )


@dataclass(frozen=True)
class SigningKeys:
    """Keys of one tenant with their material (URL-safe text, at least 32 bytes)."""

    records: tuple[KeyRecord, ...]
    material: Mapping[str, bytes]
    rotated_for: str | None = None


def signing_key_secret_name(owner: OwnerRef) -> str:
    """``<TenantConfig name>-signing-key``."""
    return f"{owner.name}-{SIGNING_KEY}"


def read_signing_keys(secret: Mapping[str, Any] | None) -> SigningKeys:
    """Keys recorded in an existing Secret; records without material are dropped."""
    if not secret:
        return SigningKeys(records=(), material={})
    annotations = secret.get("metadata", {}).get("annotations") or {}
    data = secret.get("data") or {}
    try:
        listed = json.loads(annotations.get(ANNOTATION_KEYS, "[]"))
        records = tuple(KeyRecord.from_json(item) for item in listed)
    except (ValueError, KeyError, TypeError):
        records = ()
    material = {r.kid: base64.b64decode(data[r.kid]) for r in records if r.kid in data}
    kept = tuple(r for r in records if r.kid in material)
    return SigningKeys(
        records=kept, material=material, rotated_for=annotations.get(ANNOTATION_ROTATED_FOR)
    )


def build_signing_key_secret(
    *, owner: OwnerRef, namespace: str, tenant_id: str, keys: SigningKeys
) -> Manifest:
    """The tenant's signing keys, one data entry per kid, newest first in the annotation."""
    annotations = {ANNOTATION_KEYS: json.dumps([r.to_json() for r in keys.records])}
    if keys.rotated_for is not None:
        annotations[ANNOTATION_ROTATED_FOR] = keys.rotated_for
    meta = object_meta(
        name=signing_key_secret_name(owner),
        namespace=namespace,
        owner=owner,
        component=SIGNING_KEY,
        annotations=annotations,
    )
    meta["labels"][LABEL_TENANT] = tenant_id
    return {
        "apiVersion": "v1",
        "kind": "Secret",
        "type": "Opaque",
        "metadata": meta,
        "data": {
            record.kid: base64.b64encode(keys.material[record.kid]).decode()
            for record in keys.records
        },
    }


def build_registry_configmap(
    *, namespace: str, owners: Sequence[OwnerRef], document: str
) -> Manifest:
    """The namespace's tenant registry, owned by every TenantConfig in it.

    No owner is the controller: the ConfigMap goes when the last TenantConfig goes.
    """
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {
            "name": REGISTRY_CONFIGMAP,
            "namespace": namespace,
            "labels": {
                LABEL_COMPONENT: REGISTRY,
                LABEL_PART_OF: PART_OF,
                LABEL_MANAGED_BY: MANAGER,
            },
            "ownerReferences": [
                owner.reference(controller=False) for owner in sorted(owners, key=lambda o: o.uid)
            ],
        },
        "data": {REGISTRY_KEY: document},
    }
