"""The periodic reconcile: one operator-wide loop instead of a Kopf timer per object.

Every tick (:func:`tick_seconds`) the loop looks at every custom resource Kopf has indexed and
runs a full pass for those that are due (:mod:`ragline_operator.reconcile.schedule`): at once
when something it reads or owns changed (the handlers in ``children`` and ``references`` ask for
it), every ``progress_seconds`` while not Ready, every ``resync_seconds`` once Ready. The periods
are the safety net behind the watches: whatever a watch missed is put back within a resync.

Why not ``@kopf.timer``: Kopf puts a finalizer on every object that has a timer or daemon, so
deleting a namespace would hang whenever the operator is not running; a timer also fixes its
interval at import time and logs every tick. The loop needs no finalizer, reads its periods from
the settings, and stays quiet when it has nothing to do.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from ragline_operator.controllers.base import OperatorState
from ragline_operator.handlers.common import Pass, run_pass, tenants_of
from ragline_operator.k8s.errors import ApiError, NamespaceTerminatingError, NotFoundError
from ragline_operator.models.base import API_VERSION, ResourceKind
from ragline_operator.reconcile.registry import TenantSource
from ragline_operator.reconcile.schedule import full_pass_due

# The loop only decides every tick; acting is paced by the configured periods. The tick follows
# the progress period (half of it) within these bounds, so a short period is honoured.
MAX_TICK_SECONDS = 2.0
MIN_TICK_SECONDS = 0.25
log = logging.getLogger(__name__)

Bodies = Mapping[str, Iterable[Mapping[str, Any]]]


@dataclass(frozen=True)
class Watched:
    """One kind the loop keeps reconciled, with Kopf's index of its bodies by namespace."""

    kind: ResourceKind
    reconcile: Pass
    bodies: Bodies


async def resync_one(
    state: OperatorState, watched: Watched, body: Mapping[str, Any], tenants: list[TenantSource]
) -> None:
    """A full pass of one object, its status written if it changed; failures are logged."""
    meta = body.get("metadata", {})
    where = f"{watched.kind.kind} {meta.get('namespace')}/{meta.get('name')}"
    try:
        _, status = await run_pass(watched.reconcile, body=body, state=state, tenants=tenants)
        if status:
            await state.kube.client.patch_status(
                API_VERSION, watched.kind.kind, meta["namespace"], meta["name"], status
            )
    except (NotFoundError, NamespaceTerminatingError):
        return  # deleted meanwhile, or its namespace is going away
    except ApiError as exc:
        state.object(str(meta.get("uid", ""))).last_pass = time.monotonic()
        log.warning("periodic reconcile of %s failed, retried later: %s", where, exc)
    except Exception:
        # The loop must outlive any one object's bug; the object is retried on a later tick.
        state.object(str(meta.get("uid", ""))).last_pass = time.monotonic()
        log.exception("periodic reconcile of %s crashed", where)


def due_passes(
    state: OperatorState,
    watched: Sequence[Watched],
    tenants: Mapping[str, Iterable[TenantSource]],
    *,
    now: float,
) -> list[tuple[Watched, Mapping[str, Any], list[TenantSource]]]:
    """The objects due for a pass now; forgets the memory of objects that are gone.

    Objects Kopf has not handled yet (no memory) are skipped: their create/resume handler runs
    first, after every index is complete.
    """
    config = state.config
    live: set[str] = set()
    due = []
    for kind in watched:
        for namespace, store in list(kind.bodies.items()):
            for body in list(store):
                uid = str(body.get("metadata", {}).get("uid", ""))
                live.add(uid)
                mine = state.objects.get(uid)
                if mine is None or mine.lock.locked():
                    continue
                if full_pass_due(
                    last_pass=mine.last_pass,
                    ready=mine.settled,
                    now=now,
                    progress_seconds=config.progress_seconds,
                    resync_seconds=config.resync_seconds,
                    requested=mine.requested,
                ):
                    due.append((kind, body, tenants_of(tenants, namespace)))
    state.forget(live)
    return due


async def resync_once(
    state: OperatorState,
    watched: Sequence[Watched],
    tenants: Mapping[str, Iterable[TenantSource]],
) -> int:
    """Run every due pass (bounded concurrency); returns how many ran."""
    due = due_passes(state, watched, tenants, now=time.monotonic())
    # Passes run concurrently, but not all at once: the API server is shared with everyone.
    gate = asyncio.Semaphore(state.config.max_concurrent_passes)

    async def gated(kind: Watched, body: Mapping[str, Any], sources: list[TenantSource]) -> None:
        async with gate:
            await resync_one(state, kind, body, sources)

    await asyncio.gather(*(gated(*item) for item in due))
    return len(due)


def tick_seconds(progress_seconds: float) -> float:
    """How often the loop looks for due passes."""
    return min(MAX_TICK_SECONDS, max(MIN_TICK_SECONDS, progress_seconds / 2))


async def resync_forever(
    state: OperatorState,
    watched: Sequence[Watched],
    tenants: Mapping[str, Iterable[TenantSource]],
) -> None:
    """Tick until cancelled at operator exit; a requested pass wakes the loop early."""
    tick = tick_seconds(state.config.progress_seconds)
    while True:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(state.wake.wait(), timeout=tick)
        state.wake.clear()
        try:
            await resync_once(state, watched, tenants)
        except Exception:
            # Never let one bad tick end periodic reconciling for every resource.
            log.exception("periodic reconcile tick failed; retrying")
