"""Prometheus metrics: one registry per app, names ``ragline_<subsystem>_<name>_<unit>``.

Each app gets its own :class:`~prometheus_client.CollectorRegistry` (built in ``create_app``), so
several apps in one process (tests, benchmarks) never collide and nothing registers at import.
Labels are bounded: route templates (not raw paths), methods, status classes; never tenant ids.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from prometheus_client import CollectorRegistry, Counter, Histogram
from prometheus_client.exposition import CONTENT_TYPE_LATEST, generate_latest
from starlette.responses import Response

# Request latencies of a healthy service sit in the low milliseconds; the tail buckets catch
# a database or cache that stalls.
LATENCY_BUCKETS_SECONDS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 10.0)


def metric_name(subsystem: str, name: str, unit: str = "") -> str:
    """Return ``ragline_<subsystem>_<name>[_<unit>]`` (counters get ``_total`` from the client)."""
    return "_".join(part for part in ("ragline", subsystem, name, unit) if part)


@dataclass(frozen=True)
class HttpMetrics:
    """Request count and latency of one HTTP service."""

    requests: Counter
    duration: Histogram
    # The labelled children by (method, route, status): ``labels()`` looks them up under a lock
    # on every call, a few microseconds per request. Bounded as the labels are.
    _children: dict[tuple[str, str, int], tuple[Counter, Histogram]] = field(
        default_factory=dict, repr=False, compare=False
    )

    @classmethod
    def create(cls, registry: CollectorRegistry, *, subsystem: str) -> HttpMetrics:
        """Register the HTTP metrics of ``subsystem`` in ``registry``."""
        return cls(
            requests=Counter(
                metric_name(subsystem, "http_requests"),
                "HTTP requests by method, route template and status code",
                ["method", "route", "status"],
                registry=registry,
            ),
            duration=Histogram(
                metric_name(subsystem, "http_request_duration", "seconds"),
                "HTTP request latency by method and route template",
                ["method", "route"],
                buckets=LATENCY_BUCKETS_SECONDS,
                registry=registry,
            ),
        )

    def observe(self, *, method: str, route: str, status: int, seconds: float) -> None:
        """Record one finished request."""
        key = (method, route, status)
        children = self._children.get(key)
        if children is None:
            children = (
                self.requests.labels(method, route, str(status)),
                self.duration.labels(method, route),
            )
            self._children[key] = children
        requests, duration = children
        requests.inc()
        duration.observe(seconds)


@dataclass(frozen=True)
class CacheMetrics:
    """Cache lookups by outcome: hit, miss (this request filled it), wait (another filler did)."""

    lookups: Counter
    invalidations: Counter

    @classmethod
    def create(cls, registry: CollectorRegistry, *, subsystem: str) -> CacheMetrics:
        """Register the cache metrics of ``subsystem`` in ``registry``."""
        return cls(
            lookups=Counter(
                metric_name(subsystem, "cache_lookups"),
                "Cache lookups by cache and result (hit, miss, wait, fallback)",
                ["cache", "result"],
                registry=registry,
            ),
            invalidations=Counter(
                metric_name(subsystem, "cache_invalidations"),
                "Cache entries invalidated after a committed write",
                ["cache"],
                registry=registry,
            ),
        )


def metrics_response(registry: CollectorRegistry) -> Response:
    """Render ``registry`` in the Prometheus text format."""
    return Response(content=generate_latest(registry), media_type=CONTENT_TYPE_LATEST)
