"""The ServiceMonitor of an EventStream or RagPipeline, when the Prometheus Operator is there."""

from __future__ import annotations

from ragline_operator.controllers.base import PassInput
from ragline_operator.k8s.errors import NotFoundError
from ragline_operator.models.base import MonitoringSpec
from ragline_operator.reconcile.conditions import Observation
from ragline_operator.reconcile.monitoring import MONITORING_GROUP_VERSION, plan_monitoring
from ragline_operator.resources.common import OwnerRef, child_name
from ragline_operator.resources.workloads import service_monitor


async def reconcile_monitoring(
    owner: OwnerRef, namespace: str, spec: MonitoringSpec | None, io: PassInput
) -> Observation:
    """Apply or delete the ServiceMonitor; ``MonitoringReady`` says which and why."""
    spec = spec or MonitoringSpec()
    served = await io.state.discovery.monitoring(io.client, now=io.monotonic)
    plan = plan_monitoring(spec.service_monitor, api_available=served)
    if plan.apply:
        try:
            await io.client.apply(
                service_monitor(owner, namespace=namespace, extra_labels=spec.labels)
            )
        except NotFoundError:
            # The CRD went away since discovery was cached: report it on this pass.
            plan = plan_monitoring(spec.service_monitor, api_available=False)
    elif plan.delete:
        await io.client.delete(
            MONITORING_GROUP_VERSION, "ServiceMonitor", namespace, child_name(owner, "metrics")
        )
    return plan.observation
