"""Spec and status of TenantConfig, EventStream and RagPipeline: the source the CRDs come from.

Field descriptions are ``kubectl explain`` text; constraints and CEL rules are what the API server
enforces before the operator ever sees an object. The operator parses ``spec`` with these models
too, so a resource stored before a stricter CRD still gets a message naming the field.

``base`` holds the shared building blocks, one module per kind holds its spec, ``status`` holds
the three statuses.
"""

from __future__ import annotations

from ragline_operator.models.eventstream import (
    BUILTIN_CONSUMER_GROUP,
    EVENTSTREAM,
    AutoscalingSpec,
    BackendType,
    EventStreamSpec,
    NotifierSpec,
    RelaySpec,
)
from ragline_operator.models.ragpipeline import (
    RAGPIPELINE,
    ComponentSpec,
    EmbeddingProvider,
    EmbeddingSpec,
    RagPipelineSpec,
    RetrievalSpec,
    VectorIndexSpec,
)
from ragline_operator.models.status import (
    EventStreamStatus,
    RagPipelineStatus,
    TenantConfigStatus,
)
from ragline_operator.models.tenantconfig import (
    TENANTCONFIG,
    TenantAuthSpec,
    TenantConfigSpec,
    TenantLimitsSpec,
)

__all__ = [
    "BUILTIN_CONSUMER_GROUP",
    "EVENTSTREAM",
    "RAGPIPELINE",
    "TENANTCONFIG",
    "AutoscalingSpec",
    "BackendType",
    "ComponentSpec",
    "EmbeddingProvider",
    "EmbeddingSpec",
    "EventStreamSpec",
    "EventStreamStatus",
    "NotifierSpec",
    "RagPipelineSpec",
    "RagPipelineStatus",
    "RelaySpec",
    "RetrievalSpec",
    "TenantAuthSpec",
    "TenantConfigSpec",
    "TenantConfigStatus",
    "TenantLimitsSpec",
    "VectorIndexSpec",
]
