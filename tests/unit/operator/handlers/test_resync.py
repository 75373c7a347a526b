"""The periodic resync loop against KMock: restores children, writes status, survives errors."""

from __future__ import annotations

import logging

import kmock
import kopf
import pytest

from ragline_operator.controllers.base import OperatorState
from ragline_operator.controllers.eventstream import reconcile_eventstream
from ragline_operator.handlers.eventstream import eventstream_create
from ragline_operator.handlers.resync import Watched, resync_once
from ragline_operator.models import EVENTSTREAM
from tests.unit.operator.handlers.util import call, put, stored, with_status
from tests.unit.operator.samples import NAMESPACE, body, redis_stream_spec, secret


def watched(*bodies: dict[str, object]) -> list[Watched]:
    return [Watched(EVENTSTREAM, reconcile_eventstream, {NAMESPACE: list(bodies)})]


async def created(api: kmock.KubernetesEmulator, memo: kopf.Memo) -> dict[str, object]:
    put(api, "v1/secrets", secret("pg", dsn="postgresql://db"))
    put(api, "v1/secrets", secret("redis", url="redis://127.0.0.1:6379/0"))
    stream = body("EventStream", "orders", redis_stream_spec())
    put(api, "ragline.dev/v1alpha1/eventstreams", stream)
    return with_status(stream, await call(eventstream_create, stream, memo))


def age(state: OperatorState, seconds: float) -> None:
    for memory in state.objects.values():
        assert memory.last_pass is not None
        memory.last_pass -= seconds


async def test_a_deleted_child_comes_back_on_the_next_due_pass(
    api: kmock.KubernetesEmulator, memo: kopf.Memo, state: OperatorState
) -> None:
    stream = await created(api, memo)
    del api.objects["apps/v1/deployments", NAMESPACE, "orders-relay"]

    assert await resync_once(state, watched(stream), {}) == 0  # not due yet
    assert stored(api, "apps/v1/deployments", "orders-relay") is None

    age(state, state.config.progress_seconds)
    assert await resync_once(state, watched(stream), {}) == 1
    assert stored(api, "apps/v1/deployments", "orders-relay") is not None


async def test_an_edited_child_is_put_back(
    api: kmock.KubernetesEmulator, memo: kopf.Memo, state: OperatorState
) -> None:
    stream = await created(api, memo)
    api.objects["apps/v1/deployments", NAMESPACE, "orders-notifier"].patch(
        {"spec": {"template": {"spec": {"automountServiceAccountToken": True}}}}
    )
    age(state, state.config.resync_seconds)

    await resync_once(state, watched(stream), {})

    notifier = stored(api, "apps/v1/deployments", "orders-notifier")
    assert notifier is not None
    assert notifier["spec"]["template"]["spec"]["automountServiceAccountToken"] is False


async def test_status_changes_are_written_to_the_status_subresource(
    api: kmock.KubernetesEmulator, memo: kopf.Memo, state: OperatorState
) -> None:
    stream = await created(api, memo)
    api.objects["apps/v1/deployments", NAMESPACE, "orders-relay"].patch(
        {"status": {"conditions": [{"type": "Progressing", "reason": "ProgressDeadlineExceeded"}]}}
    )
    age(state, state.config.resync_seconds)

    await resync_once(state, watched(stream), {})

    status_patches = [r for r in api["patch"] if r.url.path.endswith("/status")]
    assert status_patches
    written = status_patches[-1].data["status"]
    relay = next(c for c in written["conditions"] if c["type"] == "RelayReady")
    assert relay["reason"] == "ProgressDeadlineExceeded"


async def test_nothing_is_written_when_nothing_changed(
    api: kmock.KubernetesEmulator, memo: kopf.Memo, state: OperatorState
) -> None:
    stream = await created(api, memo)
    age(state, state.config.resync_seconds)

    await resync_once(state, watched(stream), {})

    assert not [r for r in api["patch"] if r.url.path.endswith("/status")]


async def test_unhandled_objects_wait_for_kopf_and_gone_ones_are_forgotten(
    api: kmock.KubernetesEmulator, memo: kopf.Memo, state: OperatorState
) -> None:
    stream = await created(api, memo)
    fresh = body("EventStream", "fresh", redis_stream_spec())

    age(state, state.config.resync_seconds)
    assert await resync_once(state, watched(stream, fresh), {}) == 1
    assert set(state.objects) == {"uid-eventstream-orders"}

    assert await resync_once(state, watched(), {}) == 0
    assert state.objects == {}


async def test_a_failing_pass_is_logged_and_the_loop_goes_on(
    api: kmock.KubernetesEmulator,
    memo: kopf.Memo,
    state: OperatorState,
    caplog: pytest.LogCaptureFixture,
) -> None:
    stream = await created(api, memo)
    api["patch", kmock.resource("apps/v1/deployments")] << 500 << {"message": "etcd is sad"}
    age(state, state.config.resync_seconds)

    with caplog.at_level(logging.WARNING):
        assert await resync_once(state, watched(stream), {}) == 1

    assert "etcd is sad" in caplog.text
    assert await resync_once(state, watched(stream), {}) == 0  # backs off until due again


async def test_a_requested_pass_runs_at_once_and_only_once(
    api: kmock.KubernetesEmulator, memo: kopf.Memo, state: OperatorState
) -> None:
    stream = await created(api, memo)

    def checksum() -> str:
        relay = stored(api, "apps/v1/deployments", "orders-relay")
        assert relay is not None
        return str(relay["spec"]["template"]["metadata"]["annotations"])

    before = checksum()
    put(api, "v1/secrets", secret("pg", dsn="postgresql://rotated"))

    assert state.request_pass(["uid-eventstream-orders", "uid-unknown"]) == 1
    assert await resync_once(state, watched(stream), {}) == 1

    assert checksum() != before
    assert not state.objects["uid-eventstream-orders"].requested
    assert await resync_once(state, watched(stream), {}) == 0
