"""The scaler's Prometheus metrics (the operator serves them when a metrics port is set)."""

from __future__ import annotations

from prometheus_client import Gauge

# Labels are bounded by the EventStreams and consumer groups of the cluster, which the CRD caps.
CONSUMER_LAG = Gauge(
    "ragline_consumer_lag",
    "Entries a consumer group is behind on its stream (undelivered + unacknowledged).",
    ["namespace", "eventstream", "group"],
)
DESIRED_REPLICAS = Gauge(
    "ragline_consumer_desired_replicas",
    "Replicas the lag scaler wants for a consumer group's workload.",
    ["namespace", "eventstream", "group"],
)


def observe(*, namespace: str, stream: str, group: str, lag: int | None, desired: int) -> None:
    """Record one poll's figures (lag left as it was when it could not be read)."""
    labels = {"namespace": namespace, "eventstream": stream, "group": group}
    if lag is not None:
        CONSUMER_LAG.labels(**labels).set(lag)
    DESIRED_REPLICAS.labels(**labels).set(desired)
