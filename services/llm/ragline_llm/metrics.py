"""The LLM service's metrics, in the app's own registry (see :mod:`ragline_common.metrics`).

Token counters carry the tenant as a label: tenants are the TenantConfigs of one namespace, a
bounded set the operator controls, and per-tenant spend is what the budget dashboards need.
"""

from __future__ import annotations

from dataclasses import dataclass

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

from ragline_common.metrics import LATENCY_BUCKETS_SECONDS, HttpMetrics, metric_name

SUBSYSTEM = "llm"
# Model calls take from tens of milliseconds (local) to tens of seconds (long answers).
UPSTREAM_BUCKETS_SECONDS = (0.01, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0)


@dataclass(frozen=True)
class LlmMetrics:
    """Everything the LLM service counts."""

    registry: CollectorRegistry
    http: HttpMetrics
    tokens: Counter
    budget_refusals: Counter
    token_write_failures: Counter
    upstream_calls: Counter
    upstream_duration: Histogram
    upstream_retries: Counter
    breaker_state: Gauge
    breaker_transitions: Counter
    tool_calls: Counter
    retrieval_duration: Histogram
    time_to_first_token: Histogram
    chunks_embedded: Counter

    @classmethod
    def create(cls) -> LlmMetrics:
        """Build a fresh registry with the service's metrics."""
        registry = CollectorRegistry()
        return cls(
            registry=registry,
            http=HttpMetrics.create(registry, subsystem=SUBSYSTEM),
            tokens=Counter(
                metric_name(SUBSYSTEM, "tokens"),
                "Model tokens spent, by tenant and kind (prompt, completion)",
                ["tenant", "kind"],
                registry=registry,
            ),
            budget_refusals=Counter(
                metric_name(SUBSYSTEM, "budget_refusals"),
                "Chat requests refused because the tenant's daily token budget was spent",
                ["tenant"],
                registry=registry,
            ),
            token_write_failures=Counter(
                metric_name(SUBSYSTEM, "token_write_failures"),
                "Token usage writes that failed (those tokens are missing from the budgets)",
                registry=registry,
            ),
            upstream_calls=Counter(
                metric_name(SUBSYSTEM, "upstream_calls"),
                "Upstream calls by upstream (chat, embeddings) and outcome",
                ["upstream", "outcome"],
                registry=registry,
            ),
            upstream_duration=Histogram(
                metric_name(SUBSYSTEM, "upstream_call_duration", "seconds"),
                "Upstream call latency (a stream: until its last chunk)",
                ["upstream"],
                buckets=UPSTREAM_BUCKETS_SECONDS,
                registry=registry,
            ),
            upstream_retries=Counter(
                metric_name(SUBSYSTEM, "upstream_retries"),
                "Retries of transient upstream errors",
                ["upstream"],
                registry=registry,
            ),
            breaker_state=Gauge(
                metric_name(SUBSYSTEM, "circuit_breaker_state"),
                "Circuit breaker state: 0 closed, 1 half-open, 2 open",
                ["breaker"],
                registry=registry,
            ),
            breaker_transitions=Counter(
                metric_name(SUBSYSTEM, "circuit_breaker_transitions"),
                "Circuit breaker state changes, by breaker and new state",
                ["breaker", "state"],
                registry=registry,
            ),
            tool_calls=Counter(
                metric_name(SUBSYSTEM, "tool_calls"),
                "Tool calls by tool and status (ok, error, refused)",
                ["tool", "status"],
                registry=registry,
            ),
            retrieval_duration=Histogram(
                metric_name(SUBSYSTEM, "retrieval_duration", "seconds"),
                "Vector search latency (embedding the query included)",
                buckets=LATENCY_BUCKETS_SECONDS,
                registry=registry,
            ),
            time_to_first_token=Histogram(
                metric_name(SUBSYSTEM, "time_to_first_token", "seconds"),
                "Streamed chats: from request to the first content delta",
                buckets=UPSTREAM_BUCKETS_SECONDS,
                registry=registry,
            ),
            chunks_embedded=Counter(
                metric_name(SUBSYSTEM, "chunks_embedded"),
                "Chunks embedded and written to a vector table",
                registry=registry,
            ),
        )
