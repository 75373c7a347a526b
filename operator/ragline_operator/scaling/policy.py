"""The scaling policy: desired replicas from lag, without the flapping of instant readings.

What it fixes, from what KEDA users report:

- *Flapping on instant readings.* Recommendations go up at once but come down only to the highest
  recommendation of the stabilization window (as the HPA does), and lag decays through an
  exponentially weighted average, so a noisy reading cannot scale down and up again.
- *Replicas beyond partitions.* With ``partition_cap`` (Kafka only), never more replicas than
  partitions that have lag: an idle partition's consumer would have nothing to do.
- *Phantom lag.* A partition whose committed position has not moved for ``stuck_polls`` readings
  while it has lag (a poison message, a consumer wedged on it) stops counting: more replicas would
  not drain it. It counts again as soon as its position moves.
- *Scale to zero on a broker error.* A failed reading holds the current replicas and says why.
- *0 → 1.* With ``min_replicas`` 0, one replica starts as soon as lag exceeds ``activation_lag``,
  and the workload idles at 0 only after lag has stayed at or below it for the whole window.

Everything here is pure: state goes in, new state comes out.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from enum import StrEnum

# Weight of the newest reading in the decaying average used on the way down: 0.3 halves a
# step's effect in about two polls, which filters single-poll noise without hiding a real drain.
DECAY_WEIGHT = 0.3
# Polls without progress after which a lagging partition stops counting.
DEFAULT_STUCK_POLLS = 6


class CapReason(StrEnum):
    """Why the desired replicas differ from lag / lagPerReplica."""

    NONE = "None"
    MIN_REPLICAS = "MinReplicas"
    MAX_REPLICAS = "MaxReplicas"
    PARTITIONS_WITH_LAG = "PartitionsWithLag"
    STABILIZATION = "ScaleDownStabilization"
    METRIC_ERROR = "MetricError"
    BELOW_ACTIVATION = "BelowActivation"


@dataclass(frozen=True)
class PolicyConfig:
    """The autoscaling settings of one EventStream, as the policy needs them."""

    min_replicas: int = 1
    max_replicas: int = 10
    lag_per_replica: int = 1000
    activation_lag: int = 0
    partition_cap: bool = True
    scale_down_stabilization_s: float = 300.0
    stuck_polls: int = DEFAULT_STUCK_POLLS


@dataclass(frozen=True)
class PartitionLag:
    """One partition's (or one Redis stream's) lag and the group's position in it."""

    lag: int
    position: int | str | None


@dataclass(frozen=True)
class LagReading:
    """One poll of a consumer group's lag; ``partitions`` is the stream's partition count."""

    partitions: Mapping[str, PartitionLag]
    partition_count: int

    @property
    def total(self) -> int:
        """Total lag over every partition."""
        return sum(p.lag for p in self.partitions.values())


@dataclass(frozen=True)
class PolicyState:
    """What the policy remembers between polls of one consumer group."""

    decayed_lag: float | None = None
    # (time, recommendation) within the stabilization window, oldest first.
    window: tuple[tuple[float, int], ...] = ()
    # Partition → (last position seen, polls it has not moved while lagging).
    stalled: tuple[tuple[str, int | str | None, int], ...] = ()


@dataclass(frozen=True)
class Decision:
    """The outcome of one poll."""

    desired: int
    reason: CapReason
    lag: int
    counted_lag: int
    partitions_with_lag: int
    stuck_partitions: tuple[str, ...]
    state: PolicyState = field(repr=False)


def _track_stalls(
    reading: LagReading, state: PolicyState, *, stuck_polls: int
) -> tuple[PolicyState, tuple[str, ...]]:
    previous = {name: (position, polls) for name, position, polls in state.stalled}
    stalled: list[tuple[str, int | str | None, int]] = []
    stuck: list[str] = []
    for name, partition in sorted(reading.partitions.items()):
        last = previous.get(name)
        if last is None or last[0] != partition.position or partition.lag == 0:
            polls = 0
        else:
            polls = last[1] + 1
        stalled.append((name, partition.position, polls))
        if polls >= stuck_polls:
            stuck.append(name)
    return replace(state, stalled=tuple(stalled)), tuple(stuck)


def _activation(
    config: PolicyConfig, *, recommendation: int, counted: int
) -> tuple[int, CapReason]:
    if config.min_replicas == 0 and counted <= config.activation_lag:
        return 0, CapReason.BELOW_ACTIVATION
    floor = max(config.min_replicas, 1)
    if recommendation < floor:
        return floor, CapReason.MIN_REPLICAS
    return recommendation, CapReason.NONE


def _recommend(
    config: PolicyConfig, reading: LagReading, *, counted: int, decayed: float, with_lag: int
) -> tuple[int, CapReason]:
    # Up at once on the raw reading, down only as fast as the decaying average allows.
    basis = max(counted, decayed)
    recommendation, reason = _activation(
        config,
        recommendation=math.ceil(basis / config.lag_per_replica),
        counted=counted,
    )
    if recommendation > config.max_replicas:
        recommendation, reason = config.max_replicas, CapReason.MAX_REPLICAS
    if config.partition_cap:
        cap = max(with_lag, 1 if recommendation else 0)
        if recommendation > cap:
            recommendation, reason = max(cap, config.min_replicas), CapReason.PARTITIONS_WITH_LAG
    return recommendation, reason


def decide(
    config: PolicyConfig,
    state: PolicyState,
    reading: LagReading | None,
    *,
    current: int,
    now: float,
) -> Decision:
    """Return the desired replicas for this poll; ``reading`` is None when lag could not be read."""
    if reading is None:
        return Decision(current, CapReason.METRIC_ERROR, 0, 0, 0, (), state)

    state, stuck = _track_stalls(reading, state, stuck_polls=config.stuck_polls)
    counted_parts = {n: p for n, p in reading.partitions.items() if n not in stuck}
    counted = sum(p.lag for p in counted_parts.values())
    with_lag = sum(1 for p in counted_parts.values() if p.lag > 0)
    decayed = (
        float(counted)
        if state.decayed_lag is None
        else DECAY_WEIGHT * counted + (1 - DECAY_WEIGHT) * state.decayed_lag
    )
    recommendation, reason = _recommend(
        config, reading, counted=counted, decayed=decayed, with_lag=with_lag
    )

    horizon = now - config.scale_down_stabilization_s
    window = (*(entry for entry in state.window if entry[0] > horizon), (now, recommendation))
    desired = recommendation
    if recommendation < current:
        desired = min(current, max(r for _, r in window))
        if desired > recommendation:
            reason = CapReason.STABILIZATION
    state = replace(state, decayed_lag=decayed, window=window)
    return Decision(
        desired=desired,
        reason=reason,
        lag=reading.total,
        counted_lag=counted,
        partitions_with_lag=with_lag,
        stuck_partitions=stuck,
        state=state,
    )


def naive_desired(config: PolicyConfig, lag: int) -> int:
    """ceil(lag / lagPerReplica) within [min, max]: the baseline the benchmark compares with."""
    return max(
        config.min_replicas, min(config.max_replicas, math.ceil(lag / config.lag_per_replica))
    )
