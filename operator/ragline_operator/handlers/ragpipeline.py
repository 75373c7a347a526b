"""RagPipeline handlers: migration, ingestion, API and chat, on every change and periodically."""

from __future__ import annotations

from typing import Any

import kopf

from ragline_operator.controllers.ragpipeline import reconcile_ragpipeline
from ragline_operator.handlers.common import reconcile_handlers
from ragline_operator.models import RAGPIPELINE
from ragline_operator.models.base import GROUP, VERSION

PLURAL = RAGPIPELINE.plural


@kopf.index(GROUP, VERSION, PLURAL)
def ragpipeline_bodies(*, body: kopf.Body, namespace: str | None, **_: Any) -> dict[str, Any]:
    """Every ragpipeline body by namespace, for the periodic resync loop."""
    return {namespace or "": dict(body)}


# Every change and every operator restart: one reconcile pass.
ragpipeline_create, ragpipeline_update, ragpipeline_resume = reconcile_handlers(
    reconcile_ragpipeline, plural=PLURAL, prefix="ragpipeline"
)
