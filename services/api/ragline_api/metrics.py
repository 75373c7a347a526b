"""The API's metrics, in the app's own registry (see :mod:`ragline_common.metrics`)."""

from __future__ import annotations

from dataclasses import dataclass

from prometheus_client import CollectorRegistry, Counter

from ragline_common.metrics import CacheMetrics, HttpMetrics, metric_name

SUBSYSTEM = "api"


@dataclass(frozen=True)
class ApiMetrics:
    """Everything the API counts."""

    registry: CollectorRegistry
    http: HttpMetrics
    cache: CacheMetrics
    orders_created: Counter
    idempotent_replays: Counter
    rate_limited: Counter
    outbox_events: Counter
    idempotency_keys_purged: Counter

    @classmethod
    def create(cls) -> ApiMetrics:
        """Build a fresh registry with the API's metrics."""
        registry = CollectorRegistry()
        return cls(
            registry=registry,
            http=HttpMetrics.create(registry, subsystem=SUBSYSTEM),
            cache=CacheMetrics.create(registry, subsystem=SUBSYSTEM),
            orders_created=Counter(
                metric_name(SUBSYSTEM, "orders_created"),
                "Orders created (idempotent replays not included)",
                registry=registry,
            ),
            idempotent_replays=Counter(
                metric_name(SUBSYSTEM, "idempotent_replays"),
                "Requests answered from a stored idempotent response",
                registry=registry,
            ),
            rate_limited=Counter(
                metric_name(SUBSYSTEM, "rate_limited_requests"),
                "Requests refused because their tenant was over its rate limit",
                registry=registry,
            ),
            outbox_events=Counter(
                metric_name(SUBSYSTEM, "outbox_events_written"),
                "Events written to the outbox, by event type",
                ["type"],
                registry=registry,
            ),
            idempotency_keys_purged=Counter(
                metric_name(SUBSYSTEM, "idempotency_keys_purged"),
                "Expired idempotency keys deleted by the purge",
                registry=registry,
            ),
        )
