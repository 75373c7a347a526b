"""Kubernetes Events for the transitions users should see in ``kubectl describe``."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Mapping
from datetime import datetime
from typing import Any, Literal

from ragline_operator.k8s.client import KubeClient
from ragline_operator.k8s.errors import ApiError, NamespaceTerminatingError, NotFoundError
from ragline_operator.models.base import format_time

REPORTING_COMPONENT = "ragline-operator"
MAX_EVENT_MESSAGE = 1024
log = logging.getLogger(__name__)


def event_manifest(
    involved: Mapping[str, Any],
    *,
    type_: Literal["Normal", "Warning"],
    reason: str,
    message: str,
    now: datetime,
) -> dict[str, Any]:
    """A core/v1 Event about ``involved`` (a resource body with apiVersion, kind, metadata)."""
    meta = involved["metadata"]
    stamp = format_time(now)
    return {
        "apiVersion": "v1",
        "kind": "Event",
        "metadata": {
            "name": f"{meta['name']}.{uuid.uuid4().hex[:16]}",
            "namespace": meta["namespace"],
        },
        "involvedObject": {
            "apiVersion": involved["apiVersion"],
            "kind": involved["kind"],
            "name": meta["name"],
            "namespace": meta["namespace"],
            "uid": meta.get("uid", ""),
        },
        "type": type_,
        "reason": reason,
        "message": message[:MAX_EVENT_MESSAGE],
        "source": {"component": REPORTING_COMPONENT},
        "reportingComponent": REPORTING_COMPONENT,
        "reportingInstance": REPORTING_COMPONENT,
        "firstTimestamp": stamp,
        "lastTimestamp": stamp,
        "count": 1,
    }


async def post_event(
    client: KubeClient,
    involved: Mapping[str, Any],
    *,
    type_: Literal["Normal", "Warning"],
    reason: str,
    message: str,
    now: datetime,
) -> None:
    """Post an Event; a refused Event is logged, never a reason to fail reconciling."""
    manifest = event_manifest(involved, type_=type_, reason=reason, message=message, now=now)
    try:
        await client.create(manifest)
    except (NotFoundError, NamespaceTerminatingError) as exc:
        log.debug("no Event %s, the namespace is gone or going: %s", reason, exc)
    except ApiError as exc:
        log.warning("could not post Event %s: %s", reason, exc)
