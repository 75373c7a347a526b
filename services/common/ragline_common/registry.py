"""The tenant registry: every tenant of a namespace, as the operator publishes it to the services.

The operator renders all TenantConfigs of a namespace into one ConfigMap (key ``tenants.json``) that
is mounted into every service, which reloads it when it changes. The registry never holds key
material: a signing key is named by ``kid`` and read from ``<keys dir>/<tenantId>/<kid>``, where the
operator mounts the tenant's generated Secret. Its JSON Schema is generated into
``contracts/tenant-registry.v1.schema.json``.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field
from pydantic.alias_generators import to_camel

REGISTRY_KEY = "tenants.json"
TENANT_ID_PATTERN = r"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$"
KID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$"

TenantId = Annotated[str, Field(pattern=TENANT_ID_PATTERN, description="DNS-label tenant id")]


class _Model(BaseModel):
    model_config = ConfigDict(
        alias_generator=to_camel, populate_by_name=True, extra="forbid", frozen=True
    )


class TenantState(StrEnum):
    """Whether a tenant may use RAGline; a suspended tenant's tokens are refused."""

    ACTIVE = "Active"
    SUSPENDED = "Suspended"


class Tool(StrEnum):
    """Chat tools a tenant can enable."""

    RETRIEVE_MENU = "retrieve_menu"
    APPLY_PROMOS = "apply_promos"
    CONFIRM = "confirm"


class SigningKey(_Model):
    """One HS256 signing key; several are listed while a rotation overlaps."""

    kid: str = Field(pattern=KID_PATTERN, description="key id, the JWT header's `kid`")
    not_after: datetime | None = Field(
        default=None, description="after this time the key no longer verifies tokens"
    )


class TenantAuth(_Model):
    """How a tenant's tokens are verified: our own signing keys, or an external issuer's JWKS."""

    issuer: str = Field(min_length=1, description="expected `iss` claim")
    audience: str = Field(default="ragline", min_length=1, description="expected `aud` claim")
    signing_keys: list[SigningKey] = Field(default_factory=list, max_length=4)
    jwks_url: str | None = Field(default=None, description="external issuer's JWKS (RS/ES keys)")


class TenantLimits(_Model):
    """Quotas the services enforce per tenant."""

    requests_per_second: float = Field(default=50.0, gt=0)
    burst: int = Field(default=100, ge=1)
    max_sse_connections: int = Field(default=500, ge=0)
    llm_tokens_per_day: int = Field(default=2_000_000, ge=0)


class TenantEntry(_Model):
    """One tenant as the services see it."""

    tenant_id: TenantId
    display_name: str = ""
    state: TenantState = TenantState.ACTIVE
    auth: TenantAuth
    limits: TenantLimits = Field(default_factory=TenantLimits)
    tools: list[Tool] = Field(default_factory=lambda: list(Tool))


class TenantRegistry(_Model):
    """All tenants of a namespace, keyed by tenant id."""

    version: Literal[1] = 1
    generation: int = Field(default=0, ge=0, description="bumped by the publisher on every change")
    tenants: dict[str, TenantEntry] = Field(default_factory=dict)

    def tenant(self, tenant_id: str) -> TenantEntry | None:
        """Return the tenant ``tenant_id``, if registered."""
        return self.tenants.get(tenant_id)
