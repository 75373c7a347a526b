"""Scaling policy over a noisy 5-minute lag trace, against the naive ceil(lag / target) policy.

Both policies drive the same closed loop, replayed fast: every 2 s poll, events arrive (a seeded,
noisy load with a ramp, a plateau, a burst and a drain) and each replica consumes a fixed share.
Figures: scale changes of each policy (``scale_events``, ``naive_scale_events``, their ratio), and
the lag each leaves behind (``lag_area`` = sum of lag over polls, so "no more lag left behind"
means ratio ≤ 1). ``reaction_s`` against the real control plane is measured by the operator e2e
benchmark once the scaler runs there.
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable

from ragline_operator.scaling.policy import (
    LagReading,
    PartitionLag,
    PolicyConfig,
    PolicyState,
    decide,
    naive_desired,
)

POLL_S = 2.0
DURATION_S = 300.0
PER_REPLICA_PER_S = 220.0  # what one consumer drains per second
CONFIG = PolicyConfig(
    min_replicas=1,
    max_replicas=12,
    lag_per_replica=500,
    partition_cap=False,
    scale_down_stabilization_s=60.0,
)
SEED = 20261122


def arrivals_per_s(t: float, rng: random.Random) -> float:
    """A noisy load: ramp to a plateau, a burst, then a drain."""
    if t < 60:
        base = 300 + 10 * t
    elif t < 180:
        base = 900.0
    elif t < 210:
        base = 2000.0
    else:
        base = 250.0
    return max(0.0, rng.gauss(base, base * 0.35))


def simulate(policy: Callable[[int, int, float], int]) -> tuple[int, float]:
    """Run the closed loop; return (scale changes, lag area)."""
    rng = random.Random(SEED)
    lag, replicas, events, area = 0.0, CONFIG.min_replicas, 0, 0.0
    for step in range(int(DURATION_S / POLL_S)):
        t = step * POLL_S
        lag = max(0.0, lag + (arrivals_per_s(t, rng) - replicas * PER_REPLICA_PER_S) * POLL_S)
        desired = policy(int(lag), replicas, t)
        events += desired != replicas
        replicas = desired
        area += lag
    return events, area


def run() -> dict[str, float]:
    """Replay the trace through both policies."""
    state = PolicyState()
    position = 0

    def ours(lag: int, current: int, now: float) -> int:
        nonlocal state, position
        position += 1  # the consumer group keeps committing: nothing is stalled
        reading = LagReading({"0": PartitionLag(lag=lag, position=position)}, partition_count=1)
        decision = decide(CONFIG, state, reading, current=current, now=now)
        state = decision.state
        return decision.desired

    events, area = simulate(ours)
    naive_events, naive_area = simulate(lambda lag, _current, _now: naive_desired(CONFIG, lag))
    return {
        "scale_events": events,
        "naive_scale_events": naive_events,
        "events_ratio_vs_naive": round(events / max(naive_events, 1), 3),
        "lag_area": round(area),
        "naive_lag_area": round(naive_area),
        "lag_area_ratio_vs_naive": round(area / naive_area, 3) if naive_area else math.nan,
        "polls": int(DURATION_S / POLL_S),
    }
