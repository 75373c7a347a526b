"""The pause annotation: ``ragline.dev/paused: "true"`` stops reconciling one resource."""

from __future__ import annotations

from collections.abc import Mapping

PAUSE_ANNOTATION = "ragline.dev/paused"


def is_paused(annotations: Mapping[str, str] | None) -> bool:
    """Whether the resource asks not to be reconciled (only the exact value "true" counts)."""
    return (annotations or {}).get(PAUSE_ANNOTATION) == "true"
