"""The cleanup ledger against KMock: records written by passes, cleanups after deletions."""

from __future__ import annotations

import base64
import json
from datetime import timedelta
from typing import Any, cast

import kmock
import kopf

from ragline_operator.controllers.base import OperatorState
from ragline_operator.controllers.cleanup import LEDGER_SECRET, Cleaner
from ragline_operator.handlers.eventstream import eventstream_create, eventstream_event
from tests.unit.operator.conftest import FakeBackends
from tests.unit.operator.handlers.util import call, conditions, put, with_status
from tests.unit.operator.samples import body, redis_stream_spec, secret

OPERATOR_NAMESPACE = "ragline-system"
STREAMS = "ragline.dev/v1alpha1/eventstreams"


def ledger(api: kmock.KubernetesEmulator) -> dict[str, dict[str, object]]:
    try:
        obj = api.objects["v1/secrets", OPERATOR_NAMESPACE, LEDGER_SECRET]
    except KeyError:
        return {}
    data = obj.raw.get("data") or {}
    return {uid: json.loads(base64.b64decode(v)) for uid, v in data.items() if v is not None}


def add_secrets(api: kmock.KubernetesEmulator) -> None:
    put(api, "v1/secrets", secret("pg", dsn="postgresql://db"))
    put(api, "v1/secrets", secret("redis", url="redis://:hunter22@cache:6379/0"))


def cleaner(state: OperatorState) -> Cleaner:
    return Cleaner(
        kube=state.kube,
        backends=state.backends,
        ledger=state.ledger,
        give_up_after=timedelta(hours=1),
    )


async def test_every_stream_is_recorded_the_address_only_for_delete(
    api: kmock.KubernetesEmulator, memo: kopf.Memo
) -> None:
    add_secrets(api)
    kept = body("EventStream", "kept", redis_stream_spec())
    gone = body("EventStream", "gone", redis_stream_spec(deletionPolicy="Delete"))

    await call(eventstream_create, kept, memo)
    patch = await call(eventstream_create, gone, memo)

    records = ledger(api)
    assert records[kept["metadata"]["uid"]]["policy"] == "Retain"
    assert "address" not in records[kept["metadata"]["uid"]]
    assert records[gone["metadata"]["uid"]]["address"] == "redis://:hunter22@cache:6379/0"
    assert conditions(with_status(gone, patch)["status"])["CleanupReady"] == ("True", "Recorded")


async def test_a_deleted_stream_with_delete_is_removed_from_its_broker_and_the_ledger(
    api: kmock.KubernetesEmulator, memo: kopf.Memo, backends: FakeBackends
) -> None:
    add_secrets(api)
    stream = body("EventStream", "orders", redis_stream_spec(deletionPolicy="Delete"))
    await call(eventstream_create, stream, memo)
    assert "orders" in backends.existing

    # Kopf types the handler as taking every Kopf kwarg; Kopf passes only the ones it names.
    await cast(Any, eventstream_event)(uid=stream["metadata"]["uid"], memo=memo)

    assert [t.name for t in backends.deleted] == ["orders"]
    assert ledger(api) == {}


async def test_retain_keeps_the_stream_and_a_shared_stream_is_never_deleted(
    api: kmock.KubernetesEmulator, memo: kopf.Memo, state: OperatorState, backends: FakeBackends
) -> None:
    add_secrets(api)
    retained = body("EventStream", "retained", redis_stream_spec())
    deleting = body("EventStream", "deleting", redis_stream_spec(deletionPolicy="Delete"))
    await call(eventstream_create, retained, memo)
    await call(eventstream_create, deleting, memo)
    put(api, STREAMS, retained)

    # "deleting" is gone (never stored); "retained" still uses the same stream.
    cleaned = await cleaner(state).sweep()

    assert cleaned == 1
    assert backends.deleted == []
    assert set(ledger(api)) == {retained["metadata"]["uid"]}


async def test_the_sweep_catches_up_on_deletions_missed_while_down(
    api: kmock.KubernetesEmulator, memo: kopf.Memo, state: OperatorState, backends: FakeBackends
) -> None:
    add_secrets(api)
    live = body("EventStream", "live", redis_stream_spec())
    live["spec"]["backend"]["redis"]["stream"] = "live"
    missed = body("EventStream", "missed", redis_stream_spec(deletionPolicy="Delete"))
    await call(eventstream_create, live, memo)
    await call(eventstream_create, missed, memo)
    put(api, STREAMS, live)
    state.ledger.records = None  # a restarted operator knows nothing but the ledger

    await cleaner(state).sweep()

    assert [t.name for t in backends.deleted] == ["orders"]
    assert set(ledger(api)) == {live["metadata"]["uid"]}


async def test_a_failing_cleanup_stays_recorded_until_it_gives_up(
    api: kmock.KubernetesEmulator, memo: kopf.Memo, state: OperatorState, backends: FakeBackends
) -> None:
    add_secrets(api)
    stream = body("EventStream", "orders", redis_stream_spec(deletionPolicy="Delete"))
    await call(eventstream_create, stream, memo)
    uid = stream["metadata"]["uid"]
    backends.fail_deletes = True

    await cleaner(state).sweep()

    assert "failing_since" in ledger(api)[uid]
    abandon = Cleaner(
        kube=state.kube, backends=backends, ledger=state.ledger, give_up_after=timedelta(0)
    )
    await abandon.sweep()
    assert ledger(api) == {}
