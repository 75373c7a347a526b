"""Settings every RAGline service shares, read from the environment by pydantic-settings.

Each service subclasses :class:`ServiceSettings` with its own ``env_prefix`` (``RAGLINE_API_``,
``RAGLINE_RELAY_``, ...). The env vars the operator and the chart set must be fields here or in the
subclass: a test checks it, so a deployment can never set a variable nobody reads.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from ragline_common.registry import REGISTRY_KEY

# Where the operator mounts the registry ConfigMap and the tenants' key Secrets in a pod.
DEFAULT_REGISTRY_PATH = Path("/etc/ragline/registry") / REGISTRY_KEY
DEFAULT_KEYS_DIR = Path("/etc/ragline/keys")


class ServiceSettings(BaseSettings):
    """Logging and identity fields of every service."""

    model_config = SettingsConfigDict(env_prefix="RAGLINE_", extra="ignore", frozen=True)

    service_name: str = Field(default="ragline", description="name in logs and CloudEvent sources")
    log_level: str = Field(default="INFO", pattern=r"^(DEBUG|INFO|WARNING|ERROR|CRITICAL)$")
    log_json: bool = Field(default=True, description="JSON lines (production) or console output")
    access_log: bool = Field(default=True, description="one log line per HTTP request")


class TenantAuthSettings(BaseSettings):
    """Where a service that verifies tenant tokens finds the registry and the signing keys."""

    registry_path: Path = Field(
        default=DEFAULT_REGISTRY_PATH, description="the tenant registry file (tenants.json)"
    )
    keys_dir: Path = Field(
        default=DEFAULT_KEYS_DIR, description="holds <tenantId>/<kid> files with HS256 secrets"
    )
    registry_reload_seconds: float = Field(
        default=1.0,
        ge=0,
        description="how often the registry file is checked for changes (0: on every access)",
    )
    token_leeway_seconds: int = Field(
        default=10, ge=0, le=300, description="clock skew tolerated on exp/nbf/iat"
    )
