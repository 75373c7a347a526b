"""Reading the tenant registry and the tenants' signing keys from files that change under us.

The operator publishes the registry as a ConfigMap and each tenant's key as a Secret, both mounted
as files. Kubernetes updates such mounts by swapping a symlink, so a change shows as a new inode,
size or modification time of the path; :class:`RegistryStore` checks for that at most every
``reload_seconds`` and re-reads the file. A file that fails to parse or validate is logged and
ignored: the last good registry stays in force, so a bad publish cannot lock every tenant out.
"""

from __future__ import annotations

import os
import re
import time
from collections.abc import Callable
from pathlib import Path

from pydantic import ValidationError

from ragline_common.logs import get_logger
from ragline_common.registry import KID_PATTERN, TENANT_ID_PATTERN, TenantRegistry

log = get_logger(__name__)
_Signature = tuple[int, int, int]
# A mounted secret holds the key and perhaps a trailing newline; HS256 keys shorter than the hash
# are refused by PyJWT's guidance and by us.
MIN_SECRET_BYTES = 32


def _signature(path: Path) -> _Signature | None:
    try:
        stat = os.stat(path)  # follows the ..data symlink Kubernetes swaps
    except OSError:
        return None
    return (stat.st_ino, stat.st_size, stat.st_mtime_ns)


class RegistryStore:
    """The current tenant registry, reloaded when its file changes."""

    def __init__(
        self,
        path: Path,
        *,
        reload_seconds: float = 1.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.path = path
        self.reload_seconds = reload_seconds
        self._clock = clock
        self._registry = TenantRegistry()
        self._signature: _Signature | None = None
        self._checked_at: float | None = None
        self.loaded = False
        # Bumped on every successful (re)load, so caches derived from the registry know to drop.
        self.revision = 0

    def current(self) -> TenantRegistry:
        """Return the registry, re-reading the file first if it changed since the last check."""
        now = self._clock()
        if self._checked_at is None or now - self._checked_at >= self.reload_seconds:
            self._checked_at = now
            self.refresh()
        return self._registry

    def refresh(self) -> bool:
        """Re-read the file if its signature changed; return whether a new registry was loaded."""
        signature = _signature(self.path)
        if signature is None:
            if self.loaded:
                log.warning("tenant registry vanished; keeping the last one", path=str(self.path))
            return False
        if signature == self._signature:
            return False
        self._signature = signature
        try:
            registry = TenantRegistry.model_validate_json(self.path.read_bytes())
        except (OSError, ValidationError) as exc:
            log.error(
                "tenant registry unreadable; keeping the last good one",
                path=str(self.path),
                error=str(exc).splitlines()[0],
            )
            return False
        self._registry = registry
        self.loaded = True
        self.revision += 1
        log.info(
            "tenant registry loaded",
            path=str(self.path),
            generation=registry.generation,
            tenants=len(registry.tenants),
        )
        return True


class KeyStore:
    """HS256 secrets at ``<keys_dir>/<tenantId>/<kid>``, re-read when a file changes."""

    def __init__(self, keys_dir: Path) -> None:
        self.keys_dir = keys_dir
        self._cache: dict[Path, tuple[_Signature, bytes]] = {}

    def secret(self, tenant_id: str, kid: str) -> bytes | None:
        """Return the secret of key ``kid`` of ``tenant_id``, or None if missing or too short.

        Both names are checked against their patterns first, so neither can walk out of the keys
        directory (``..``, ``/``).
        """
        if not re.fullmatch(TENANT_ID_PATTERN, tenant_id) or not re.fullmatch(KID_PATTERN, kid):
            return None
        path = self.keys_dir / tenant_id / kid
        signature = _signature(path)
        if signature is None:
            self._cache.pop(path, None)
            return None
        cached = self._cache.get(path)
        if cached is not None and cached[0] == signature:
            return cached[1]
        try:
            secret = path.read_bytes().strip()
        except OSError:
            return None
        if len(secret) < MIN_SECRET_BYTES:
            log.error("signing key too short; ignored", tenant_id=tenant_id, kid=kid)
            return None
        self._cache[path] = (signature, secret)
        return secret
