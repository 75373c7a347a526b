"""The autoscaling part of an EventStream's pass: which engine scales, and its KEDA children.

One writer of each consumer's ``replicas``: the builtin scaler (a loop of its own, see
``handlers/scaling.py``) or, with engine KEDA (or Auto where KEDA is installed), the ScaledObjects
applied here. ScaledObjects this EventStream no longer wants (engine changed, consumer removed,
autoscaling dropped) are deleted, so two engines never fight over one workload. Whether KEDA's API
is served is looked up through the operator's discovery cache on every pass, so installing KEDA
later takes over on the next resync without a restart.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from ragline_operator.controllers.base import PassInput, apply_all
from ragline_operator.k8s.errors import NotFoundError
from ragline_operator.models import EventStreamSpec
from ragline_operator.models.eventstream import ScalingEngine
from ragline_operator.reconcile.conditions import Observation, false, true
from ragline_operator.resources.common import OwnerRef
from ragline_operator.resources.keda import (
    SCALED_OBJECT,
    KedaContext,
    build_keda_credentials,
    build_scaled_objects,
    scaler_selector,
)
from ragline_operator.scaling.engine import KEDA_GROUP_VERSION, effective_engine
from ragline_operator.scaling.scaler import StreamReport

SCALING_ACTIVE = "ScalingActive"


def builtin_observation(report: StreamReport | None) -> Observation:
    """``ScalingActive`` while the builtin scaler polls."""
    if report is None:
        return false(
            SCALING_ACTIVE, "AwaitingFirstPoll", "engine Builtin: the lag scaler has not polled yet"
        )
    if report.error:
        return false(
            SCALING_ACTIVE, "LagUnavailable", f"engine Builtin: holding replicas: {report.error}"
        )
    summary = ", ".join(
        f"{c.group}: lag {c.lag}, {c.replicas}→{c.desired} replicas" for c in report.consumers
    )
    return true(SCALING_ACTIVE, "Polling", f"engine Builtin: {summary or 'no consumer to scale'}")


def keda_missing_observation() -> Observation:
    """``ScalingActive`` when engine KEDA is asked for on a cluster without KEDA."""
    return false(
        SCALING_ACTIVE,
        "KEDANotInstalled",
        f"engine KEDA: {KEDA_GROUP_VERSION} ScaledObject is not served by this cluster; install "
        "KEDA (or set engine Auto or Builtin). Replicas are left as they are meanwhile",
        failure=True,
    )


def keda_observation(applied: Sequence[Mapping[str, Any]]) -> Observation:
    """``ScalingActive`` from the ScaledObjects as stored (KEDA writes their Ready condition)."""
    for scaled in applied:
        for condition in scaled.get("status", {}).get("conditions") or []:
            if condition.get("type") == "Ready" and condition.get("status") == "False":
                name = scaled["metadata"]["name"]
                return false(
                    SCALING_ACTIVE,
                    "ScaledObjectNotReady",
                    f"engine KEDA: ScaledObject {name}: {condition.get('message') or ''}".strip(),
                )
    targets = ", ".join(
        f"{s['metadata']['name']} → {s['spec']['scaleTargetRef']['name']}" for s in applied
    )
    return true(
        SCALING_ACTIVE,
        "KEDAScaledObjects",
        f"engine KEDA: ScaledObjects scale the consumers ({targets or 'none with a workload'})",
    )


async def _prune(owner: OwnerRef, namespace: str, keep: set[str], io: PassInput) -> None:
    listed = await io.client.list(
        KEDA_GROUP_VERSION, SCALED_OBJECT, namespace, label_selector=scaler_selector(owner)
    )
    for scaled in listed:
        meta = scaled["metadata"]
        mine = any(ref.get("uid") == owner.uid for ref in meta.get("ownerReferences") or [])
        if mine and meta["name"] not in keep:
            await io.client.delete(KEDA_GROUP_VERSION, SCALED_OBJECT, namespace, meta["name"])


async def reconcile_autoscaling(
    *,
    owner: OwnerRef,
    namespace: str,
    spec: EventStreamSpec,
    address: str,
    report: StreamReport | None,
    io: PassInput,
) -> list[Observation]:
    """Apply or prune the ScaledObjects; ``ScalingActive`` names the engine that scales."""
    served = await io.state.discovery.serves(io.client, KEDA_GROUP_VERSION, now=io.monotonic)
    if spec.autoscaling is None:
        if served:
            await _prune(owner, namespace, set(), io)
        return []
    engine = effective_engine(spec.autoscaling.engine, keda_served=served)
    if engine is None:
        return [keda_missing_observation()]
    if engine is ScalingEngine.BUILTIN:
        if served:
            await _prune(owner, namespace, set(), io)
        return [builtin_observation(report)]
    ctx = KedaContext(owner=owner, namespace=namespace, spec=spec, address=address)
    scaled = build_scaled_objects(ctx)
    try:
        applied = await apply_all(io.client, [*build_keda_credentials(ctx), *scaled])
    except NotFoundError:
        # KEDA went away since discovery was cached: report it on this pass.
        if spec.autoscaling.engine is ScalingEngine.AUTO:
            return [builtin_observation(report)]
        return [keda_missing_observation()]
    await _prune(owner, namespace, {m["metadata"]["name"] for m in scaled}, io)
    return [keda_observation([a for a in applied if a.get("kind") == SCALED_OBJECT])]
