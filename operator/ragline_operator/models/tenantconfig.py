"""TenantConfig spec: a tenant's identity, token verification, quotas and tools."""

from __future__ import annotations

from pydantic import ConfigDict, Field

from ragline_common.registry import TENANT_ID_PATTERN, TenantState, Tool
from ragline_operator.models.base import (
    Duration,
    ResourceKind,
    SpecModel,
    cel,
    immutable,
    list_extensions,
    validations,
)

TENANTCONFIG = ResourceKind(kind="TenantConfig", plural="tenantconfigs", short_name="tc")


class KeyRotation(SpecModel):
    """When the generated signing key is replaced; the previous key keeps verifying for a while."""

    model_config = ConfigDict(
        json_schema_extra=validations(
            cel(
                "duration(self.overlap) < duration(self.every)",
                "auth.keyRotation.overlap must be shorter than auth.keyRotation.every",
                field_path=".overlap",
            )
        )
    )

    every: Duration = Field(default="720h", description="Age at which a new key is generated.")
    overlap: Duration = Field(
        default="24h",
        description="How long the previous key still verifies tokens after a rotation.",
    )


class TenantAuthSpec(SpecModel):
    """Token verification: an operator-generated HS256 key (default) or an external issuer."""

    model_config = ConfigDict(
        json_schema_extra=validations(
            cel(
                "has(self.issuer) == has(self.jwksUrl)",
                "auth.issuer and auth.jwksUrl go together: set both for an external issuer, or "
                "neither to have the operator generate a signing key",
            ),
            cel(
                "!has(self.jwksUrl) || !has(self.keyRotation)",
                "auth.keyRotation applies to generated keys only; remove it when auth.jwksUrl "
                "is set",
            ),
        )
    )

    issuer: str | None = Field(
        default=None,
        min_length=1,
        max_length=512,
        description="External issuer (`iss` claim). Omit to have the operator generate a key.",
    )
    jwks_url: str | None = Field(
        default=None,
        pattern=r"^https?://",
        max_length=2048,
        description="JWKS endpoint of the external issuer (RS/ES keys).",
    )
    audience: str = Field(
        default="ragline", min_length=1, max_length=256, description="Expected `aud` claim."
    )
    key_rotation: KeyRotation | None = Field(
        default=None,
        description="Rotation of the generated key (defaults: every 720h, overlap 24h).",
    )


class TenantLimitsSpec(SpecModel):
    """Quotas every service enforces for this tenant."""

    requests_per_second: float = Field(
        default=50.0, gt=0, le=100_000, description="Sustained API requests per second."
    )
    burst: int = Field(default=100, ge=1, le=1_000_000, description="Token-bucket burst size.")
    max_sse_connections: int = Field(
        default=500, ge=0, le=1_000_000, description="Concurrent SSE/WebSocket connections."
    )
    llm_tokens_per_day: int = Field(
        default=2_000_000, ge=0, le=10_000_000_000, description="LLM token budget per UTC day."
    )


class TenantConfigSpec(SpecModel):
    """A tenant of RAGline: identity, token verification, quotas and the chat tools it may use."""

    tenant_id: str = Field(
        pattern=TENANT_ID_PATTERN,
        min_length=1,
        max_length=63,
        description="Tenant id (DNS label) carried in tokens and events; immutable.",
        json_schema_extra=immutable("tenantId"),
    )
    display_name: str = Field(default="", max_length=256, description="Human-readable name.")
    state: TenantState = Field(
        default=TenantState.ACTIVE,
        description="Active, or Suspended: the services refuse its tokens and close its streams.",
    )
    auth: TenantAuthSpec | None = Field(
        default=None, description="Token verification; omitted: a generated signing key."
    )
    limits: TenantLimitsSpec | None = Field(
        default=None, description="Quotas; omitted: the defaults of each field."
    )
    tools: list[Tool] = Field(
        default_factory=lambda: list(Tool),
        max_length=len(Tool),
        description="Chat tools the tenant may use (default: all).",
        json_schema_extra=list_extensions("set"),
    )
