"""The EventStream pass against KMock: KEDA ScaledObjects when KEDA is there, a condition if not."""

from __future__ import annotations

from typing import Any

import kmock
import kopf

from ragline_operator.controllers.base import Discovery
from ragline_operator.handlers.common import operator_state
from ragline_operator.handlers.eventstream import eventstream_create, eventstream_update
from tests.unit.operator.handlers.util import call, conditions, put, stored, with_status
from tests.unit.operator.samples import body, redis_stream_spec, secret

SCALED_OBJECTS = "keda.sh/v1alpha1/scaledobjects"
CONSUMERS = [{"group": "billing", "workloadRef": {"name": "billing-worker"}}]


def add_secrets(api: kmock.KubernetesEmulator) -> None:
    put(api, "v1/secrets", secret("pg", dsn="postgresql://db"))
    put(api, "v1/secrets", secret("redis", url="redis://127.0.0.1:6379/0"))


def install_keda(api: kmock.KubernetesEmulator) -> None:
    api.resources[SCALED_OBJECTS] = kmock.ResourceInfo()
    api.resources["keda.sh/v1alpha1/triggerauthentications"] = kmock.ResourceInfo()


def stream(engine: str) -> dict[str, Any]:
    spec = redis_stream_spec(
        consumers=CONSUMERS, autoscaling={"engine": engine, "lagPerReplica": 50}
    )
    return body("EventStream", "orders", spec)


async def test_engine_keda_without_keda_says_so_and_applies_nothing(
    api: kmock.KubernetesEmulator, memo: kopf.Memo
) -> None:
    add_secrets(api)
    patch = await call(eventstream_create, stream("KEDA"), memo)
    state = conditions(patch["status"])
    assert state["ScalingActive"] == ("False", "KEDANotInstalled")
    assert state["Degraded"][0] == "True"
    message = next(
        c["message"] for c in patch["status"]["conditions"] if c["type"] == "ScalingActive"
    )
    assert "keda.sh/v1alpha1" in message


async def test_installing_keda_later_heals_on_the_next_pass(
    api: kmock.KubernetesEmulator, memo: kopf.Memo
) -> None:
    add_secrets(api)
    first = with_status(stream("KEDA"), await call(eventstream_create, stream("KEDA"), memo))
    install_keda(api)
    operator_state(memo).discovery = Discovery(ttl=0.0)  # the cache's ttl has passed

    patch = await call(eventstream_update, first, memo)

    assert conditions(patch["status"])["ScalingActive"] == ("True", "KEDAScaledObjects")
    scaled = stored(api, SCALED_OBJECTS, "orders-billing-worker")
    assert scaled is not None
    (trigger,) = scaled["spec"]["triggers"]
    assert trigger["type"] == "redis-streams"
    assert trigger["metadata"]["consumerGroup"] == "billing"
    assert trigger["metadata"]["lagCount"] == "50"


async def test_auto_picks_keda_and_switching_to_builtin_deletes_the_scaled_object(
    api: kmock.KubernetesEmulator, memo: kopf.Memo
) -> None:
    add_secrets(api)
    install_keda(api)
    first = with_status(stream("Auto"), await call(eventstream_create, stream("Auto"), memo))
    assert stored(api, SCALED_OBJECTS, "orders-billing-worker") is not None

    builtin = {**first, "spec": stream("Builtin")["spec"]}
    patch = await call(eventstream_update, builtin, memo)

    assert stored(api, SCALED_OBJECTS, "orders-billing-worker") is None
    assert conditions(patch["status"])["ScalingActive"] == ("False", "AwaitingFirstPoll")
