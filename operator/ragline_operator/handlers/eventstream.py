"""EventStream handlers: relay, notifier and their Services, on every change and periodically.

No deletion handler, so Kopf puts no finalizer on EventStreams: children go by garbage
collection, and what lives outside Kubernetes (the topic or stream) is cleaned up after the
DELETED event from the cleanup ledger (see :mod:`ragline_operator.reconcile.cleanup`).
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import kopf

from ragline_operator.controllers.cleanup import Cleaner
from ragline_operator.controllers.eventstream import reconcile_eventstream
from ragline_operator.handlers.common import operator_state, reconcile_handlers
from ragline_operator.handlers.references import ReferenceIndex, readers
from ragline_operator.models import EVENTSTREAM
from ragline_operator.models.base import GROUP, VERSION

PLURAL = EVENTSTREAM.plural


@kopf.index(GROUP, VERSION, PLURAL)
def eventstream_bodies(*, body: kopf.Body, namespace: str | None, **_: Any) -> dict[str, Any]:
    """Every eventstream body by namespace, for the periodic resync loop."""
    return {namespace or "": dict(body)}


# Every change and every operator restart: one reconcile pass.
eventstream_create, eventstream_update, eventstream_resume = reconcile_handlers(
    reconcile_eventstream, plural=PLURAL, prefix="eventstream"
)


def _is_deletion(*, type: str | None, **_: Any) -> bool:
    """Only deletions matter to the event handler (and other events then log nothing)."""
    return type == "DELETED"


@kopf.on.event(GROUP, VERSION, PLURAL, when=_is_deletion)
async def eventstream_event(*, uid: str, memo: kopf.Memo, **_: Any) -> None:
    """A deleted EventStream: delete its topic or stream now if its deletionPolicy says so.

    A failure here is not retried by Kopf (the object is gone); the record stays in the ledger
    and the periodic sweep retries it.
    """
    state = operator_state(memo)
    cleaner = Cleaner(
        kube=state.kube,
        backends=state.backends,
        ledger=state.ledger,
        give_up_after=timedelta(seconds=state.config.cleanup_give_up_seconds),
    )
    await cleaner.after_deletion(uid)


def _is_change(*, type: str | None, **_: Any) -> bool:
    return type is not None


@kopf.on.event(GROUP, VERSION, PLURAL, when=_is_change)
async def eventstream_changed(
    *,
    namespace: str | None,
    name: str,
    memo: kopf.Memo,
    ragpipeline_reads: ReferenceIndex | None = None,
    **_: Any,
) -> None:
    """An EventStream changed (e.g. became Ready): the RagPipelines referencing it take a look."""
    key = (namespace or "", EVENTSTREAM.kind, name)
    operator_state(memo).request_pass(readers(key, ragpipeline_reads))
