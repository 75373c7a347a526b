"""Operator configuration: pydantic-settings from ``RAGLINE_OPERATOR_*``, applied at startup.

Nothing here is read at import time: ``@kopf.on.startup`` builds :class:`OperatorConfig` and
configures Kopf's own :class:`kopf.OperatorSettings` from it (see :func:`configure_kopf`).
"""

from __future__ import annotations

import logging
from typing import Literal

import kopf
from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from ragline_operator.models.base import GROUP

FINALIZER = f"{GROUP}/finalizer"


class OperatorConfig(BaseSettings):
    """What an installation may tune (the chart sets these as env vars)."""

    model_config = SettingsConfigDict(env_prefix="RAGLINE_OPERATOR_", frozen=True, extra="ignore")

    image: str = Field(
        default="ghcr.io/ragline/ragline:0.1.0",
        min_length=1,
        description="The RAGline image every workload runs.",
    )
    image_pull_policy: Literal["Always", "IfNotPresent", "Never"] = "IfNotPresent"
    resync_seconds: float = Field(
        default=60.0,
        ge=1,
        description="Full reconcile of a Ready resource at least this often (restores edits).",
    )
    progress_seconds: float = Field(
        default=5.0, ge=0.5, description="Re-check period of a resource that is not Ready yet."
    )
    retry_seconds: float = Field(
        default=15.0, ge=1, description="Delay before retrying a missing prerequisite."
    )
    handler_retries: int = Field(
        default=20, ge=1, description="Retries of a create/update handler before giving up."
    )
    request_timeout_seconds: float = Field(default=30.0, gt=0)
    watch_server_timeout_seconds: int = Field(
        default=300, ge=10, description="Server-side watch timeout (watches reconnect after it)."
    )
    discovery_ttl_seconds: float = Field(
        default=30.0, ge=0, description="How long 'is the ServiceMonitor API served' is cached."
    )
    field_manager: str = Field(default="ragline-operator", min_length=1)
    namespace: str = Field(
        default="ragline-system",
        min_length=1,
        description=(
            "The operator's own namespace: it keeps the cleanup ledger there (what to delete "
            "outside Kubernetes when an EventStream with deletionPolicy Delete is gone)."
        ),
    )
    probe_timeout_seconds: float = Field(
        default=5.0, gt=0, description="Longest a broker, database or LLM check may take."
    )
    probe_ttl_seconds: float = Field(
        default=10.0,
        ge=0,
        description="How long a backend check's answer is reused (shared by every resource).",
    )
    max_concurrent_passes: int = Field(
        default=16,
        ge=1,
        description="Periodic and requested passes running at once (the API server is shared).",
    )
    max_concurrent_probes: int = Field(
        default=8, ge=1, description="Backend checks running at once, over all resources."
    )
    cleanup_give_up_seconds: float = Field(
        default=86_400.0,
        gt=0,
        description="How long a failing outside cleanup (e.g. an unreachable broker) is retried.",
    )


def configure_kopf(settings: kopf.OperatorSettings, config: OperatorConfig) -> None:
    """Point Kopf at annotations we declare and keep its bookkeeping out of our status.

    The status schemas are structural, so anything Kopf wrote into ``status`` would be pruned;
    its progress and last-handled state therefore live in ``ragline.dev/*`` annotations.
    """
    settings.persistence.finalizer = FINALIZER
    settings.persistence.progress_storage = kopf.AnnotationsProgressStorage(prefix=GROUP)
    settings.persistence.diffbase_storage = kopf.AnnotationsDiffBaseStorage(
        prefix=GROUP, key="last-handled-configuration"
    )
    # One replica (the chart's Deployment uses the Recreate strategy), so no peering objects.
    settings.peering.standalone = True
    # Kopf turns handler failures (e.g. a PermanentError's message) into Warning Events;
    # condition transitions are posted by the operator itself.
    settings.posting.level = logging.WARNING
    settings.posting.reporting_component = config.field_manager
    settings.posting.event_name_prefix = "ragline-"
    settings.networking.request_timeout = config.request_timeout_seconds
    settings.watching.server_timeout = config.watch_server_timeout_seconds
    settings.watching.client_timeout = config.watch_server_timeout_seconds + 30
    settings.queueing.error_delays = (1, 2, 5, 10, 30, 60)
