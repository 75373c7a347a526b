"""Children the operator made: any change to one asks for a pass of its owner.

A Deployment becoming available or a Job completing is noticed at once instead of at the next
progress poll, and a child someone deleted or edited is put back at once instead of at the next
resync. Only children labelled as managed by the operator and controlled by one of its kinds get
past the filter; the pass itself runs in the resync loop under the owner's lock, so a burst of
events becomes one pass.
"""

from __future__ import annotations

from typing import Any

import kopf

from ragline_operator.handlers.common import operator_state
from ragline_operator.models.base import API_VERSION
from ragline_operator.reconcile.references import controller_uid
from ragline_operator.resources.common import LABEL_MANAGED_BY, MANAGER

MANAGED = {LABEL_MANAGED_BY: MANAGER}


def _owned_change(*, type: str | None, meta: kopf.Meta, **_: Any) -> bool:
    # type None is the initial listing: every owner gets its first pass anyway.
    return type is not None and controller_uid(meta, API_VERSION) is not None


def _request_owner(meta: kopf.Meta, memo: kopf.Memo) -> None:
    uid = controller_uid(meta, API_VERSION)
    if uid is not None:
        operator_state(memo).request_pass([uid])


@kopf.on.event("apps", "v1", "deployments", labels=MANAGED, when=_owned_change)
async def deployment_event(*, meta: kopf.Meta, memo: kopf.Memo, **_: Any) -> None:
    """A relay, notifier, API or chat Deployment changed: its owner takes a look."""
    _request_owner(meta, memo)


@kopf.on.event("batch", "v1", "jobs", labels=MANAGED, when=_owned_change)
async def job_event(*, meta: kopf.Meta, memo: kopf.Memo, **_: Any) -> None:
    """A migration or ingestion Job changed (e.g. completed): its pipeline takes a look."""
    _request_owner(meta, memo)
