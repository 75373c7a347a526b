"""Turning a reconcile pass into Kopf's world: status, Events, retries, pausing, locking.

Create/update/resume handlers (made and registered by :func:`reconcile_handlers`, one set per
kind) call :func:`handle`: a pass whose status goes into Kopf's ``patch``
and whose problems become ``kopf.TemporaryError`` / ``kopf.PermanentError``. The resync loop
(:mod:`ragline_operator.handlers.resync`) calls :func:`run_pass` and writes status itself. Both
share the per-object lock and memory in :class:`~ragline_operator.controllers.base.OperatorState`,
so a handler and the loop never run a pass of the same object at once, and Events are computed
against the status this process last wrote (fresher than a body still in the watch queue).
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

import kopf

from ragline_operator.controllers.base import (
    InvalidSpecError,
    ObjectState,
    OperatorState,
    Outcome,
    PassInput,
    Subject,
    invalid_outcome,
    paused_outcome,
)
from ragline_operator.k8s.errors import ApiError, InvalidError
from ragline_operator.k8s.events import post_event
from ragline_operator.models.base import GROUP, VERSION
from ragline_operator.reconcile.conditions import worth_an_event
from ragline_operator.reconcile.pause import is_paused
from ragline_operator.reconcile.registry import TenantSource

STATE_KEY = "ragline"

Pass = Callable[[Subject, PassInput], Awaitable[Outcome]]
Handler = Callable[..., Awaitable[None]]
TenantsByNamespace = Mapping[str, Iterable[TenantSource]]
# What each of the three events means to a kind's reconcile pass (the handlers' docstrings).
REASONS = {
    "create": "A new resource: create every child.",
    "update": "A changed spec (or annotations): roll the children forward.",
    "resume": "Operator restart: converge whatever happened while it was away.",
}


def operator_state(memo: Mapping[str, Any]) -> OperatorState:
    """The operator-wide state stored at startup."""
    state = memo.get(STATE_KEY)
    if not isinstance(state, OperatorState):
        raise TypeError("the operator memo was not initialised by the startup handler")
    return state


def tenants_of(index: TenantsByNamespace | None, namespace: str | None) -> list[TenantSource]:
    """The namespace's TenantConfigs from the Kopf index (empty if none)."""
    if index is None:
        raise RuntimeError("Kopf did not pass tenantconfig_index; is the index registered?")
    return list(index.get(namespace, ())) if namespace is not None else []


def changed_status(current: Mapping[str, Any], desired: Mapping[str, Any]) -> dict[str, Any]:
    """The part of ``desired`` that differs from ``current`` (a merge patch; None deletes)."""
    return {key: value for key, value in desired.items() if current.get(key) != value}


async def _announce(
    state: OperatorState,
    body: Mapping[str, Any],
    outcome: Outcome,
    previous: Sequence[Mapping[str, Any]],
) -> None:
    client = state.kube.client
    now = datetime.now(UTC)
    for change in worth_an_event(previous, outcome.transitions):
        await post_event(
            client,
            body,
            type_="Warning" if change.warning else "Normal",
            reason=f"{change.type}{change.new}",
            message=f"{change.type} is {change.new}: {change.reason}: {change.message}",
            now=now,
        )
    for note in outcome.notes:
        await post_event(
            client,
            body,
            type_="Warning" if note.warning else "Normal",
            reason=note.reason,
            message=note.message,
            now=now,
        )


async def _compute(
    reconcile: Pass, subject: Subject, state: OperatorState, tenants: list[TenantSource]
) -> Outcome:
    now = datetime.now(UTC)
    if is_paused(subject.annotations):
        return paused_outcome(subject, now=now)
    io = PassInput(
        client=state.kube.client,
        state=state,
        tenants=tenants,
        now=now,
        monotonic=time.monotonic(),
    )
    try:
        return await reconcile(subject, io)
    except InvalidSpecError as exc:
        return invalid_outcome(subject, str(exc), now=now)


async def run_pass(
    reconcile: Pass,
    *,
    body: Mapping[str, Any],
    state: OperatorState,
    tenants: list[TenantSource],
) -> tuple[Outcome, dict[str, Any]]:
    """One pass under the object's lock; returns the outcome and the status fields to write.

    What to write is diffed against the body's status, not this process's memory: a write that
    failed must be retried, and rewriting an unchanged field is harmless. API errors propagate
    as :class:`ApiError`; nothing is recorded for such a pass.
    """
    uid = str(body.get("metadata", {}).get("uid", ""))
    mine = state.object(uid)
    async with mine.lock:
        mine.requested = False  # whatever changes from here on asks for another pass
        subject = Subject(body=dict(body), last_status=mine.status)
        outcome = await _compute(reconcile, subject, state, tenants)
        mine.remember(outcome, now=time.monotonic())
    await _announce(state, body, outcome, subject.conditions)
    return outcome, changed_status(dict(body.get("status") or {}), outcome.status)


async def handle(
    reconcile: Pass,
    *,
    body: Mapping[str, Any],
    memo: Mapping[str, Any],
    patch: kopf.Patch,
    tenants: list[TenantSource],
    retry: int,
) -> None:
    """A create/update/resume handler: a pass, its status into ``patch``, Kopf's semantics."""
    state = operator_state(memo)
    config = state.config
    try:
        outcome, status = await run_pass(reconcile, body=body, state=state, tenants=tenants)
    except InvalidError as exc:
        raise kopf.PermanentError(f"the API server refused a child: {exc.message}") from exc
    except ApiError as exc:
        raise kopf.TemporaryError(str(exc), delay=config.retry_seconds) from exc
    patch.status.update(status)
    if outcome.invalid is not None:
        raise kopf.PermanentError(f"invalid spec: {outcome.invalid}")
    if outcome.retry is not None:
        if retry + 1 >= config.handler_retries:
            # The resync loop keeps checking; the handler stops holding Kopf's retry machinery.
            raise kopf.PermanentError(f"{outcome.retry} (checked again on every resync)")
        raise kopf.TemporaryError(outcome.retry, delay=config.retry_seconds)


def _reconcile_handler(reconcile: Pass, *, name: str, doc: str) -> Handler:
    async def handler(
        *,
        body: kopf.Body,
        namespace: str | None,
        memo: kopf.Memo,
        patch: kopf.Patch,
        retry: int,
        tenantconfig_index: TenantsByNamespace | None = None,
        **_: Any,
    ) -> None:
        tenants = tenants_of(tenantconfig_index, namespace)
        await handle(reconcile, body=body, memo=memo, patch=patch, tenants=tenants, retry=retry)

    # Kopf's handler id is the function's qualified name, and it is recorded in every object's
    # annotations: it stays ``<kind>_<event>``, as when each handler was written out by hand.
    handler.__name__ = handler.__qualname__ = name
    handler.__doc__ = doc
    return handler


def reconcile_handlers(reconcile: Pass, *, plural: str, prefix: str) -> tuple[Handler, ...]:
    """Register ``<prefix>_create``, ``<prefix>_update`` and ``<prefix>_resume`` for ``plural``.

    Each runs ``reconcile`` through :func:`handle` with the namespace's TenantConfigs from
    Kopf's ``tenantconfig_index``. Returned in that order, for the kind's module to name.
    """
    events = {"create": kopf.on.create, "update": kopf.on.update, "resume": kopf.on.resume}
    handlers = []
    for event, on in events.items():
        handler = _reconcile_handler(reconcile, name=f"{prefix}_{event}", doc=REASONS[event])
        on(GROUP, VERSION, plural)(handler)
        handlers.append(handler)
    return tuple(handlers)


__all__ = [
    "ObjectState",
    "handle",
    "operator_state",
    "reconcile_handlers",
    "run_pass",
    "tenants_of",
]
