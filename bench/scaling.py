"""Lag-based scaling: how fast the real scaler reacts, and how calmly its policy scales.

``reaction_s`` (live): a private control plane (etcd, kube-apiserver, controller-manager, scheduler,
kwok) and Valkey start in a temporary directory; the operator runs as a local process under its
generated RBAC, and scales one consumer Deployment of an EventStream (engine Builtin,
``pollInterval`` 2 s) by the lag of its Redis consumer group. Each trial writes a backlog far above
the threshold into the stream at a random point of the poll cycle, then watches the Deployment's
``spec.replicas`` through the API server: ``reaction_s`` is the median time from the backlog being
written (the lag crossing the threshold) to the replicas being patched, ``reaction_max_s`` the
slowest trial (aim ≤ 5 s). Baselines of the same run: ``direct_patch_s``, the same observation
loop seeing a scale patch the benchmark makes itself (the floor of what can be measured here), and
the poll interval (``ratio_vs_poll`` = reaction_s / poll). ``keda_default_reaction_s`` is a
reference, not measured: KEDA's defaults poll every 30 s and the HPA syncs every 15 s.

Replay: the pure policy over a noisy 5-minute lag trace, against the naive ceil(lag / target)
policy. Both drive the same closed loop, replayed fast: every 2 s poll, events arrive (a seeded,
noisy load with a ramp, a plateau, a burst and a drain) and each replica consumes a fixed share.
Figures: scale changes of each policy (``scale_events``, ``naive_scale_events``, their ratio), and
the lag each leaves behind (``lag_area`` = sum of lag over polls, so "no more lag left behind"
means ratio ≤ 1).
"""

from __future__ import annotations

import base64
import math
import random
import shutil
import ssl
import statistics
import tempfile
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any

import httpx
import redis
import yaml

from ragline_dev.infra import Part, Stack
from ragline_dev.infra.kube import KubeControlPlane, Kubectl
from ragline_dev.infra.valkey import Valkey
from ragline_dev.operator_part import install_crds, install_rbac, issue_token, start_operator
from ragline_dev.procs import free_port, stop
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


def replay() -> dict[str, float]:
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


# The live measurement.
NAMESPACE = "bench-scaling"
WORKER, BASELINE_WORKER = "billing-worker", "baseline-worker"
STREAM, GROUP = "bench.scaling", "billing"
LIVE_POLL_S = 2.0
LAG_PER_REPLICA = 100
BACKLOG = 400  # 4 replicas' worth: far above the threshold, written in one pipeline
TRIALS = 7
OBSERVE_S = 0.02  # the observation loop's period: a bound on the measurement's own error
WAIT_TIMEOUT_S = 120.0  # an upper bound on a loaded 2-core machine, not an expectation
# Reference only: KEDA's default pollingInterval (30 s) plus the HPA's default sync (15 s).
KEDA_DEFAULT_REACTION_S = 45.0
AIM_REACTION_S = 5.0
ENCODE = base64.b64encode


def _deployment(name: str) -> dict[str, Any]:
    labels = {"app": name}
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": name, "namespace": NAMESPACE},
        "spec": {
            "replicas": 1,
            "selector": {"matchLabels": labels},
            "template": {
                "metadata": {"labels": labels},
                "spec": {"containers": [{"name": "c", "image": "example.invalid/consumer:1"}]},
            },
        },
    }


def _secret(name: str, key: str, value: str) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": name, "namespace": NAMESPACE},
        "data": {key: ENCODE(value.encode()).decode()},
    }


def live_resources(redis_url: str) -> list[dict[str, Any]]:
    """The namespace, Secrets, consumer Deployments and the autoscaled EventStream."""
    ref = {"secretKeyRef": {"name": "broker", "key": "url"}}
    return [
        {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": NAMESPACE}},
        _secret("broker", "url", redis_url),
        # The outbox database is never reached here: the relay's pods are kwok's.
        _secret("db", "dsn", "postgresql://bench@127.0.0.1:1/unused"),
        _deployment(WORKER),
        _deployment(BASELINE_WORKER),
        {
            "apiVersion": "ragline.dev/v1alpha1",
            "kind": "EventStream",
            "metadata": {"name": "orders", "namespace": NAMESPACE},
            "spec": {
                "backend": {"type": "Redis", "redis": {"url": ref, "stream": STREAM}},
                "outbox": {"database": {"secretKeyRef": {"name": "db", "key": "dsn"}}},
                "consumers": [{"group": GROUP, "workloadRef": {"name": WORKER}}],
                "autoscaling": {
                    "engine": "Builtin",
                    "minReplicas": 1,
                    "maxReplicas": 10,
                    "lagPerReplica": LAG_PER_REPLICA,
                    "pollInterval": f"{LIVE_POLL_S:g}s",
                    "scaleDownStabilization": "1s",
                },
            },
        },
    ]


def _admin_http(kubeconfig: str) -> httpx.Client:
    config = yaml.safe_load(Path(kubeconfig).read_text())
    cluster, user = config["clusters"][0]["cluster"], config["users"][0]["user"]
    context = ssl.create_default_context(cafile=cluster["certificate-authority"])
    context.load_cert_chain(user["client-certificate"], user["client-key"])
    return httpx.Client(base_url=cluster["server"], verify=context, timeout=10.0)


def _until(check: Callable[[], bool], what: str) -> float:
    """Poll ``check`` every OBSERVE_S; return the monotonic time it first held."""
    deadline = time.monotonic() + WAIT_TIMEOUT_S
    while time.monotonic() < deadline:
        if check():
            return time.monotonic()
        time.sleep(OBSERVE_S)
    raise TimeoutError(f"{what}: not after {WAIT_TIMEOUT_S:.0f}s")


class Live:
    """The API server and Valkey as the measurement sees them."""

    def __init__(self, http: httpx.Client, valkey: redis.Redis) -> None:
        self.http = http
        self.valkey = valkey

    def replicas(self, name: str) -> int:
        path = f"/apis/apps/v1/namespaces/{NAMESPACE}/deployments/{name}"
        response = self.http.get(path)
        response.raise_for_status()
        return int(response.json()["spec"].get("replicas", 1))

    def billing_polled(self) -> bool:
        path = f"/apis/ragline.dev/v1alpha1/namespaces/{NAMESPACE}/eventstreams/orders"
        response = self.http.get(path)
        consumers = response.json().get("status", {}).get("consumers") or []
        return any(c.get("group") == GROUP and c.get("lag") == 0 for c in consumers)

    def backlog(self) -> None:
        pipe = self.valkey.pipeline(transaction=False)
        for n in range(BACKLOG):
            pipe.xadd(STREAM, {"n": str(n)})
        pipe.execute()

    def catch_up(self) -> None:
        """The group has read everything: its lag drops to zero."""
        self.valkey.xgroup_setid(STREAM, GROUP, "$")

    def scale(self, name: str, replicas: int) -> None:
        path = f"/apis/apps/v1/namespaces/{NAMESPACE}/deployments/{name}/scale"
        response = self.http.patch(
            path,
            params={"fieldManager": "bench"},
            content=f'{{"spec": {{"replicas": {replicas}}}}}'.encode(),
            headers={"Content-Type": "application/merge-patch+json"},
        )
        response.raise_for_status()


def _is(live: Live, name: str, replicas: int) -> bool:
    return live.replicas(name) == replicas


def _trials(live: Live, rng: random.Random) -> tuple[list[float], list[float]]:
    reactions, direct = [], []
    for _ in range(TRIALS):
        time.sleep(rng.uniform(0.0, LIVE_POLL_S))  # cross at a random point of the poll cycle
        crossed = time.monotonic()  # before the write: a reading mid-pipeline counts as crossed
        live.backlog()
        reactions.append(_until(lambda: live.replicas(WORKER) > 1, "replicas patched") - crossed)
        live.catch_up()
        _until(lambda: live.replicas(WORKER) == 1, "replicas back to 1 after the backlog")

        wanted = 2 if live.replicas(BASELINE_WORKER) == 1 else 1
        patched = time.monotonic()
        live.scale(BASELINE_WORKER, wanted)
        seen = _until(partial(_is, live, BASELINE_WORKER, wanted), "direct patch seen")
        direct.append(seen - patched)
    return reactions, direct


def reaction() -> dict[str, Any]:
    """Start everything privately; time lag crossing → replicas patched, over TRIALS trials."""
    root = Path(tempfile.mkdtemp(prefix="ragline-bench-scaling-"))
    parts: list[Part] = [Valkey(durable=False), KubeControlPlane()]
    try:
        with Stack(root=root, parts=parts) as stack:
            admin = Kubectl.for_state(stack.states["kube"])
            install_crds(admin)
            install_rbac(admin)
            redis_url = stack.states["valkey"].endpoints["url"]
            admin.apply(*live_resources(redis_url))
            kubeconfig = root / "operator.kubeconfig"
            admin.with_token(issue_token(admin), kubeconfig)
            proc = start_operator(
                kubeconfig=kubeconfig, log=root / "operator.log", liveness_port=free_port()
            )
            http = _admin_http(admin.kubeconfig)
            valkey = redis.Redis.from_url(redis_url)
            try:
                live = Live(http, valkey)
                _until(live.billing_polled, "the scaler's first poll of the consumer group")
                reactions, direct = _trials(live, random.Random(SEED))
            finally:
                valkey.close()
                http.close()
                stop(proc.pid)
    finally:
        shutil.rmtree(root, ignore_errors=True)
    median = statistics.median(reactions)
    return {
        "reaction_s": round(median, 3),
        "reaction_max_s": round(max(reactions), 3),
        "reaction_min_s": round(min(reactions), 3),
        "trials": TRIALS,
        "poll_interval_s": LIVE_POLL_S,
        "ratio_vs_poll": round(median / LIVE_POLL_S, 3),
        "direct_patch_s": round(statistics.median(direct), 3),
        "keda_default_reaction_s": KEDA_DEFAULT_REACTION_S,
        "ratio_vs_keda_default": round(median / KEDA_DEFAULT_REACTION_S, 3),
        "aim_reaction_s": AIM_REACTION_S,
    }


def run() -> dict[str, Any]:
    """The live reaction time, then the replay figures."""
    return {**reaction(), **replay()}
