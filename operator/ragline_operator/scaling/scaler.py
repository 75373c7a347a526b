"""The lag scaler: per EventStream and consumer group, read lag, decide, set ``replicas``.

It is the only writer of its consumers' ``replicas`` (through the scale subresource, under its own
field manager; the operator's applies leave ``replicas`` out when autoscaling is set). Each
EventStream is polled at its ``autoscaling.pollInterval``; the latest report per EventStream is
kept for the reconcile pass (``ScalingActive``) and written to ``status.lag`` and
``status.consumers`` at once. A failed lag reading holds the current replicas. EventStreams whose
engine is KEDA (asked for, or ``Auto`` with KEDA installed) are skipped: their ScaledObjects own
those replicas.
"""

from __future__ import annotations

import base64
import logging
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from ragline_operator.k8s.client import KubeClient
from ragline_operator.k8s.errors import ApiError
from ragline_operator.k8s.events import post_event
from ragline_operator.models import EVENTSTREAM, BackendType, EventStreamSpec
from ragline_operator.models.base import API_VERSION, format_time, parse_duration
from ragline_operator.models.eventstream import AutoscalingSpec, ScalingEngine
from ragline_operator.resources.eventstream import NOTIFIER_GROUP
from ragline_operator.scaling import metrics
from ragline_operator.scaling.engine import effective_engine
from ragline_operator.scaling.lag import LagReader, LagReadError
from ragline_operator.scaling.policy import Decision, PolicyConfig, PolicyState, decide

log = logging.getLogger(__name__)

ReaderFactory = Callable[[BackendType, str], Awaitable[LagReader]]


@dataclass(frozen=True)
class ConsumerReport:
    """One consumer group after a poll, in the shape of ``status.consumers[]``."""

    group: str
    replicas: int | None
    desired: int | None = None
    lag: int | None = None
    partitions_with_lag: int | None = None
    cap_reason: str | None = None
    last_scale_time: str | None = None
    error: str | None = None

    def status(self) -> dict[str, Any]:
        """The status entry (unknown figures left out)."""
        entry = {
            "group": self.group,
            "lag": self.lag,
            "partitionsWithLag": self.partitions_with_lag,
            "replicas": self.replicas,
            "desiredReplicas": self.desired,
            "capReason": self.cap_reason,
            "lastScaleTime": self.last_scale_time,
        }
        return {k: v for k, v in entry.items() if v is not None}


@dataclass(frozen=True)
class StreamReport:
    """Every consumer group of one EventStream after a poll."""

    consumers: tuple[ConsumerReport, ...]
    error: str | None = None

    @property
    def lag(self) -> int | None:
        """Total lag, when every group's lag is known."""
        lags = [c.lag for c in self.consumers]
        return None if any(lag is None for lag in lags) else sum(lag or 0 for lag in lags)


@dataclass(frozen=True)
class Target:
    """A consumer group and the workload (a Deployment or a StatefulSet) that runs it."""

    group: str
    kind: str
    name: str


def targets(spec: EventStreamSpec) -> list[Target]:
    """Every listed consumer group that names its workload.

    The built-in notifier is not scaled by lag: each notifier process reads the whole stream in a
    consumer group of its own (its clients may be on any replica), so more replicas never shrink
    the lag; it scales with connections instead.
    """
    return [
        Target(c.group, c.workload_ref.kind.value, c.workload_ref.name)
        for c in spec.consumers
        if c.group != NOTIFIER_GROUP and c.workload_ref is not None
    ]


def policy_config(autoscaling: AutoscalingSpec, *, kafka: bool) -> PolicyConfig:
    """The pure policy's settings from the spec (the partition cap exists for Kafka only)."""
    return PolicyConfig(
        min_replicas=autoscaling.min_replicas,
        max_replicas=autoscaling.max_replicas,
        lag_per_replica=autoscaling.lag_per_replica,
        activation_lag=autoscaling.activation_lag,
        partition_cap=autoscaling.partition_cap and kafka,
        scale_down_stabilization_s=parse_duration(
            autoscaling.scale_down_stabilization
        ).total_seconds(),
    )


def _secret_value(secret: Mapping[str, Any] | None, key: str) -> str | None:
    data = (secret or {}).get("data") or {}
    if key not in data:
        return None
    return base64.b64decode(data[key]).decode()


@dataclass
class Scaler:
    """Polls every autoscaled EventStream when due; one instance per operator."""

    client: Callable[[], KubeClient]
    reader_for: ReaderFactory
    # Whether KEDA's API is served (monotonic now → bool); None: never (Auto means Builtin).
    keda_served: Callable[[float], Awaitable[bool]] | None = None
    policies: dict[tuple[str, str], PolicyState] = field(default_factory=dict)
    last_scaled: dict[tuple[str, str], str] = field(default_factory=dict)
    next_poll: dict[str, float] = field(default_factory=dict)
    reports: dict[str, StreamReport] = field(default_factory=dict)

    async def tick(self, bodies: Iterable[Mapping[str, Any]], *, now: float) -> int:
        """Poll the EventStreams that are due; forget the ones that are gone. Returns polls run."""
        live: set[str] = set()
        polled = 0
        for body in bodies:
            uid = str(body["metadata"]["uid"])
            live.add(uid)
            spec = EventStreamSpec.model_validate(body.get("spec") or {})
            if spec.autoscaling is None:
                continue
            if await self._engine(spec.autoscaling.engine, now=now) is not ScalingEngine.BUILTIN:
                # KEDA's ScaledObjects (or nobody, KEDA missing) own these replicas: no report
                # of ours may claim otherwise.
                self.reports.pop(uid, None)
                continue
            if self.next_poll.get(uid, 0.0) > now:
                continue
            self.next_poll[uid] = (
                now + parse_duration(spec.autoscaling.poll_interval).total_seconds()
            )
            self.reports[uid] = await self.poll(body, spec=spec, now=now)
            polled += 1
        for gone in [uid for uid in self.next_poll if uid not in live]:
            self.next_poll.pop(gone, None)
            self.reports.pop(gone, None)
            for key in [k for k in self.policies if k[0] == gone]:
                self.policies.pop(key, None)
        return polled

    async def _engine(self, requested: ScalingEngine, *, now: float) -> ScalingEngine | None:
        if requested is ScalingEngine.BUILTIN:
            return requested
        served = False
        if self.keda_served is not None:
            try:
                served = await self.keda_served(now)
            except ApiError as exc:
                # Unknown: neither scale (KEDA may be scaling) nor crash the loop; next tick.
                log.warning("cannot tell whether KEDA is installed: %s", exc)
                return None
        return effective_engine(requested, keda_served=served)

    async def _reader(self, namespace: str, spec: EventStreamSpec) -> tuple[LagReader, str]:
        backend = spec.backend
        if backend.type is BackendType.KAFKA and backend.kafka is not None:
            ref, stream = backend.kafka.bootstrap_servers.secret_key_ref, backend.kafka.topic
        elif backend.redis is not None:
            ref, stream = backend.redis.url.secret_key_ref, backend.redis.stream
        else:  # the CRD's CEL rule makes this unreachable; say so rather than guess
            raise LagReadError("the backend block matching spec.backend.type is missing")
        secret = await self.client().get("v1", "Secret", namespace, ref.name)
        address = _secret_value(secret, ref.key)
        if address is None:
            raise LagReadError(f"Secret {ref.name!r} has no key {ref.key!r}")
        return await self.reader_for(backend.type, address), stream

    async def poll(
        self, body: Mapping[str, Any], *, spec: EventStreamSpec, now: float
    ) -> StreamReport:
        """Read, decide and scale every consumer group of one EventStream."""
        meta = body["metadata"]
        namespace, name = meta["namespace"], meta["name"]
        if spec.autoscaling is None:
            return StreamReport(())
        config = policy_config(spec.autoscaling, kafka=spec.backend.type is BackendType.KAFKA)
        error: str | None = None
        try:
            reader, stream = await self._reader(namespace, spec)
        except (LagReadError, ApiError) as exc:
            reader, stream, error = None, "", str(exc)
        reports = []
        for target in targets(spec):
            reading, group_error = None, error
            if reader is not None:
                try:
                    reading = await reader.read(stream=stream, group=target.group)
                except LagReadError as exc:
                    group_error = str(exc)
            reports.append(
                await self._scale(
                    body, target, config=config, reading=reading, now=now, error=group_error
                )
            )
        report = StreamReport(
            tuple(reports), error=error or next((r.error for r in reports if r.error), None)
        )
        await self._write_status(namespace, name, report)
        return report

    async def _scale(
        self,
        body: Mapping[str, Any],
        target: Target,
        *,
        config: PolicyConfig,
        reading: Any,
        now: float,
        error: str | None,
    ) -> ConsumerReport:
        namespace, uid = body["metadata"]["namespace"], str(body["metadata"]["uid"])
        client = self.client()
        scale = await client.get_scale("apps/v1", target.kind, namespace, target.name)
        if scale is None:
            return ConsumerReport(
                target.group, None, error=f"{target.kind} {target.name!r} not found"
            )
        current = int(scale.get("spec", {}).get("replicas", 0))
        key = (uid, target.group)
        decision: Decision = decide(
            config, self.policies.get(key, PolicyState()), reading, current=current, now=now
        )
        self.policies[key] = decision.state
        metrics.observe(
            namespace=namespace,
            stream=body["metadata"]["name"],
            group=target.group,
            lag=decision.lag if reading is not None else None,
            desired=decision.desired,
        )
        if decision.desired != current:
            await client.patch_scale(
                "apps/v1", target.kind, namespace, target.name, replicas=decision.desired
            )
            stamp = datetime.now(UTC)
            self.last_scaled[key] = format_time(stamp)
            await post_event(
                client,
                {**body, "apiVersion": API_VERSION, "kind": EVENTSTREAM.kind},
                type_="Normal",
                reason="Scaled",
                message=(
                    f"{target.group}: {target.kind} {target.name} {current} → {decision.desired} "
                    f"replicas (lag {decision.lag}, {decision.reason})"
                ),
                now=stamp,
            )
        return ConsumerReport(
            group=target.group,
            replicas=current,
            desired=decision.desired,
            lag=decision.lag if reading is not None else None,
            partitions_with_lag=decision.partitions_with_lag if reading is not None else None,
            cap_reason=str(decision.reason),
            last_scale_time=self.last_scaled.get(key),
            error=error,
        )

    async def _write_status(self, namespace: str, name: str, report: StreamReport) -> None:
        try:
            await self.client().patch_status(
                API_VERSION,
                EVENTSTREAM.kind,
                namespace,
                name,
                {"lag": report.lag, "consumers": [c.status() for c in report.consumers]},
            )
        except ApiError as exc:
            log.warning("status of EventStream %s/%s not written: %s", namespace, name, exc)
