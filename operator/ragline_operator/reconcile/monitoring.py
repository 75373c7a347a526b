"""Prometheus wiring: a ServiceMonitor when the Prometheus Operator's API exists.

Pods always carry ``prometheus.io/*`` annotations. Whether the ``monitoring.coreos.com/v1`` API
exists is checked on every reconcile (cached briefly), so installing the Prometheus Operator later
heals ``MonitoringReady`` on the next resync without restarting the operator.
"""

from __future__ import annotations

from dataclasses import dataclass

from ragline_operator.models.base import ServiceMonitorMode
from ragline_operator.reconcile.conditions import Observation, false, true

MONITORING_READY = "MonitoringReady"
MONITORING_GROUP_VERSION = "monitoring.coreos.com/v1"


@dataclass(frozen=True)
class MonitoringPlan:
    """Whether to apply or delete the ServiceMonitor, and the condition to report."""

    apply: bool
    delete: bool
    observation: Observation


def plan_monitoring(mode: ServiceMonitorMode, *, api_available: bool) -> MonitoringPlan:
    """Decide the ServiceMonitor from the spec's mode and whether its API is served."""
    if mode is ServiceMonitorMode.DISABLED:
        return MonitoringPlan(
            apply=False,
            delete=api_available,
            observation=true(
                MONITORING_READY, "AnnotationsOnly", "ServiceMonitor disabled; pods are annotated"
            ),
        )
    if not api_available:
        return MonitoringPlan(
            apply=False,
            delete=False,
            observation=false(
                MONITORING_READY,
                "CRDNotInstalled",
                f"{MONITORING_GROUP_VERSION} is not served; pods carry prometheus.io annotations",
                failure=mode is ServiceMonitorMode.ENABLED,
            ),
        )
    return MonitoringPlan(
        apply=True,
        delete=False,
        observation=true(MONITORING_READY, "ServiceMonitorApplied", "ServiceMonitor is in place"),
    )
