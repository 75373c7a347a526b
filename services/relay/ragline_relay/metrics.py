"""The relay's Prometheus metrics, in one registry per app (``ragline_relay_*``)."""

from __future__ import annotations

from dataclasses import dataclass

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

from ragline_common.metrics import HttpMetrics, metric_name

SUBSYSTEM = "relay"
# A healthy batch (claim, publish, mark) takes a few milliseconds; the tail catches a slow broker.
BATCH_BUCKETS_SECONDS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 5.0, 10.0)


def _name(name: str, unit: str = "") -> str:
    return metric_name(SUBSYSTEM, name, unit)


@dataclass(frozen=True)
class RelayMetrics:
    """Everything the relay counts."""

    registry: CollectorRegistry
    http: HttpMetrics
    pending: Gauge
    oldest_pending_age: Gauge
    dead_letters: Gauge
    publish_rate: Gauge
    published: Counter
    failures: Counter
    dead_lettered: Counter
    blocked: Counter
    batch_duration: Histogram
    purged: Counter

    @classmethod
    def create(cls) -> RelayMetrics:
        """Register the relay's metrics in a new registry."""
        registry = CollectorRegistry()
        return cls(
            registry=registry,
            http=HttpMetrics.create(registry, subsystem=SUBSYSTEM),
            pending=Gauge(
                _name("outbox_pending", "rows"),
                "Outbox rows not yet published (sampled)",
                registry=registry,
            ),
            oldest_pending_age=Gauge(
                _name("outbox_oldest_pending_age", "seconds"),
                "Age of the oldest unpublished outbox row; 0 when none (sampled)",
                registry=registry,
            ),
            dead_letters=Gauge(
                _name("dead_letters"),
                "Events waiting in the dead letters (sampled)",
                registry=registry,
            ),
            publish_rate=Gauge(
                _name("publish_rate", "events_per_second"),
                "Events published per second by this relay over the last sampling interval",
                registry=registry,
            ),
            published=Counter(
                _name("events_published"),
                "Events the broker acknowledged and the outbox marked published",
                registry=registry,
            ),
            failures=Counter(
                _name("publish_failures"),
                "Failures by kind: batch (broker unavailable), event (broker refused one event), "
                "invalid (failed schema validation)",
                ["kind"],
                registry=registry,
            ),
            dead_lettered=Counter(
                _name("events_dead_lettered"),
                "Events moved to the dead letters",
                registry=registry,
            ),
            blocked=Counter(
                _name("events_held_back"),
                "Claimed rows held back because an older row of their aggregate was in flight",
                registry=registry,
            ),
            batch_duration=Histogram(
                _name("batch_duration", "seconds"),
                "Claim, publish and mark of one batch",
                buckets=BATCH_BUCKETS_SECONDS,
                registry=registry,
            ),
            purged=Counter(
                _name("outbox_purged", "rows"),
                "Published outbox rows deleted after their retention",
                registry=registry,
            ),
        )
