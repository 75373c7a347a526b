"""The notifier's Prometheus metrics, in one registry per app (``ragline_notifier_*``)."""

from __future__ import annotations

from dataclasses import dataclass

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

from ragline_common.metrics import HttpMetrics, metric_name

SUBSYSTEM = "notifier"
# Handing one batch to every local client takes well under a millisecond per thousand clients.
DISPATCH_BUCKETS_SECONDS = (0.0001, 0.0005, 0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1.0)


def _name(name: str, unit: str = "") -> str:
    return metric_name(SUBSYSTEM, name, unit)


@dataclass(frozen=True)
class NotifierMetrics:
    """Everything the notifier counts (no tenant labels: tenants are unbounded)."""

    registry: CollectorRegistry
    http: HttpMetrics
    connections: Gauge
    received: Counter
    duplicates: Counter
    deliveries: Counter
    replayed: Counter
    closed: Counter
    refused: Counter
    consumer_errors: Counter
    dispatch: Histogram

    @classmethod
    def create(cls) -> NotifierMetrics:
        """Register the notifier's metrics in a new registry."""
        registry = CollectorRegistry()
        return cls(
            registry=registry,
            http=HttpMetrics.create(registry, subsystem=SUBSYSTEM),
            connections=Gauge(
                _name("connections"), "Open client connections", ["transport"], registry=registry
            ),
            received=Counter(
                _name("events_received"), "Entries read from the stream", registry=registry
            ),
            duplicates=Counter(
                _name("events_duplicate"),
                "Entries dropped because their event id was already seen",
                registry=registry,
            ),
            deliveries=Counter(
                _name("deliveries"), "Events queued for a client (live)", registry=registry
            ),
            replayed=Counter(
                _name("events_replayed"),
                "Events sent to a resuming client from the stream",
                registry=registry,
            ),
            closed=Counter(
                _name("connections_closed"),
                "Connections closed by the server, by reason (slow, suspended, expired, shutdown)",
                ["reason"],
                registry=registry,
            ),
            refused=Counter(
                _name("connections_refused"),
                "Connections refused, by reason (limit, unauthorized, forbidden, unavailable)",
                ["reason"],
                registry=registry,
            ),
            consumer_errors=Counter(
                _name("consumer_errors"),
                "Failed reads or acknowledgements on the stream",
                registry=registry,
            ),
            dispatch=Histogram(
                _name("dispatch_duration", "seconds"),
                "Routing one fetched batch to the local clients",
                buckets=DISPATCH_BUCKETS_SECONDS,
                registry=registry,
            ),
        )
