"""The scaling policy: up at once, down after the window, caps, holds, stalls, scale to zero."""

import math
from collections.abc import Sequence

from hypothesis import given, settings
from hypothesis import strategies as st

from ragline_operator.scaling.policy import (
    CapReason,
    Decision,
    LagReading,
    PartitionLag,
    PolicyConfig,
    PolicyState,
    decide,
    naive_desired,
)

CONFIG = PolicyConfig(
    min_replicas=1, max_replicas=10, lag_per_replica=100, scale_down_stabilization_s=60.0
)


def reading(*lags: int, positions: list[int] | None = None) -> LagReading:
    positions = positions or [0] * len(lags)
    return LagReading(
        partitions={
            str(n): PartitionLag(lag=lag, position=pos)
            for n, (lag, pos) in enumerate(zip(lags, positions, strict=True))
        },
        partition_count=len(lags),
    )


def run(
    config: PolicyConfig,
    readings: Sequence[LagReading | None],
    *,
    current: int = 1,
    step: float = 2.0,
) -> list[Decision]:
    state = PolicyState()
    decisions = []
    for n, r in enumerate(readings):
        decision = decide(config, state, r, current=current, now=n * step)
        state, current = decision.state, decision.desired
        decisions.append(decision)
    return decisions


def test_a_backlog_scales_up_on_the_first_poll() -> None:
    (decision,) = run(CONFIG, [reading(*[100] * 12)])
    assert decision.desired == 10
    assert decision.reason is CapReason.MAX_REPLICAS
    assert decision.lag == 1200


def test_partition_cap_holds_replicas_to_partitions_with_lag() -> None:
    (decision,) = run(CONFIG, [reading(900, 900, 0, 0)])
    assert decision.desired == 2
    assert decision.reason is CapReason.PARTITIONS_WITH_LAG
    assert decision.partitions_with_lag == 2

    uncapped = PolicyConfig(**{**CONFIG.__dict__, "partition_cap": False})
    (decision,) = run(uncapped, [reading(900, 900, 0, 0)])
    assert decision.desired == 10
    assert decision.reason is CapReason.MAX_REPLICAS


def test_scale_down_waits_for_the_stabilization_window() -> None:
    drained = [reading(1000)] + [reading(0)] * 40  # 2 s polls: 80 s, the window is 60 s
    decisions = run(PolicyConfig(**{**CONFIG.__dict__, "partition_cap": False}), drained)
    assert decisions[0].desired == 10
    # Within the window the high recommendation holds the replicas up.
    held = [d for n, d in enumerate(decisions) if 0 < n * 2.0 < 60.0]
    assert all(d.desired == 10 for d in held)
    assert all(d.reason is CapReason.STABILIZATION for d in held[3:])
    assert decisions[-1].desired == 1


def test_a_read_error_holds_the_current_replicas_and_never_drops_to_zero() -> None:
    config = PolicyConfig(min_replicas=0, max_replicas=5, lag_per_replica=10, partition_cap=False)
    decisions = run(config, [reading(30), None, None], current=0)
    assert [d.desired for d in decisions] == [3, 3, 3]
    assert decisions[1].reason is CapReason.METRIC_ERROR


def test_zero_to_one_above_activation_and_back_to_zero_after_the_window() -> None:
    config = PolicyConfig(
        min_replicas=0,
        max_replicas=5,
        lag_per_replica=100,
        activation_lag=5,
        scale_down_stabilization_s=10.0,
    )
    decisions = run(config, [reading(3), reading(6)] + [reading(0)] * 10, current=0)
    assert decisions[0].desired == 0
    assert decisions[0].reason is CapReason.BELOW_ACTIVATION
    assert decisions[1].desired == 1
    assert decisions[2].desired == 1  # held by the window
    assert decisions[-1].desired == 0


def test_a_stalled_partition_stops_counting_and_counts_again_when_it_moves() -> None:
    config = PolicyConfig(**{**CONFIG.__dict__, "stuck_polls": 3, "partition_cap": False})
    stalled = [reading(500, 0, positions=[7, n]) for n in range(5)]
    decisions = run(config, stalled)
    assert decisions[0].desired == 5
    assert decisions[3].stuck_partitions == ("0",)
    assert decisions[3].counted_lag == 0
    moving = decide(
        config,
        decisions[-1].state,
        reading(500, 0, positions=[8, 5]),
        current=decisions[-1].desired,
        now=100.0,
    )
    assert moving.stuck_partitions == ()
    assert moving.counted_lag == 500


@settings(max_examples=200, deadline=None)
@given(
    lags=st.lists(st.integers(min_value=0, max_value=5000), min_size=1, max_size=60),
    min_replicas=st.integers(min_value=0, max_value=3),
    max_replicas=st.integers(min_value=3, max_value=20),
)
def test_properties_bounds_and_never_below_the_naive_policy(
    lags: list[int], min_replicas: int, max_replicas: int
) -> None:
    config = PolicyConfig(
        min_replicas=min_replicas,
        max_replicas=max_replicas,
        lag_per_replica=250,
        partition_cap=False,
        scale_down_stabilization_s=20.0,
    )
    # Positions move every poll: nothing is stalled here.
    polls = [reading(lag, positions=[n]) for n, lag in enumerate(lags)]
    decisions = run(config, polls, current=min_replicas)
    for lag, decision in zip(lags, decisions, strict=True):
        assert min_replicas <= decision.desired <= max_replicas
        # Up at once: never fewer replicas than the instant reading asks for.
        if lag > 0 or min_replicas > 0:
            assert decision.desired >= naive_desired(config, lag)
        assert decision.desired <= max(
            min_replicas, math.ceil(max(lags) / config.lag_per_replica), 1
        )
