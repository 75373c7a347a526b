"""EventStream handlers against KMock: children, readiness, Secrets, monitoring, retries."""

from __future__ import annotations

from typing import Any

import kmock
import kopf
import pytest

from ragline_operator.backends.outbox import OutboxReading
from ragline_operator.controllers.eventstream import reconcile_eventstream
from ragline_operator.handlers.common import handle
from ragline_operator.handlers.eventstream import eventstream_create, eventstream_update
from tests.unit.operator.conftest import FakeBackends
from tests.unit.operator.handlers.util import call, conditions, events, put, stored, with_status
from tests.unit.operator.samples import body, redis_stream_spec, secret, tenant_spec

DEPLOYMENTS = "apps/v1/deployments"


def add_secrets(api: kmock.KubernetesEmulator, dsn: str = "postgresql://db") -> None:
    put(api, "v1/secrets", secret("pg", dsn=dsn))
    put(api, "v1/secrets", secret("redis", url="redis://127.0.0.1:6379/0"))


def mark_ready(api: kmock.KubernetesEmulator, name: str) -> None:
    obj = api.objects[DEPLOYMENTS, "shop", name]
    replicas = obj.raw["spec"].get("replicas", 1)
    obj.patch(
        {
            "metadata": {"generation": 1},
            "status": {
                "observedGeneration": 1,
                "replicas": replicas,
                "updatedReplicas": replicas,
                "readyReplicas": replicas,
            },
        }
    )


async def test_missing_secret_is_named_and_retried_without_touching_children(
    api: kmock.KubernetesEmulator, memo: kopf.Memo
) -> None:
    put(api, "v1/secrets", secret("pg", dsn="postgresql://db"))
    stream = body("EventStream", "orders", redis_stream_spec())

    with pytest.raises(
        kopf.TemporaryError, match=r"spec\.backend\.redis\.url: Secret 'redis'"
    ) as err:
        await call(eventstream_create, stream, memo)

    assert err.value.delay == 7
    assert stored(api, DEPLOYMENTS, "orders-relay") is None


async def test_missing_secret_condition_is_in_the_status(
    api: kmock.KubernetesEmulator, memo: kopf.Memo
) -> None:
    stream = body("EventStream", "orders", redis_stream_spec())
    patch = kopf.Patch()
    with pytest.raises(kopf.TemporaryError):
        await handle(
            reconcile_eventstream, body=stream, memo=memo, patch=patch, tenants=[], retry=0
        )
    state = conditions(patch["status"])
    assert state["SecretsReady"] == ("False", "SecretNotFound")
    assert state["Ready"] == ("False", "SecretNotFound")
    assert state["Degraded"][0] == "True"


async def test_retries_are_bounded(api: kmock.KubernetesEmulator, memo: kopf.Memo) -> None:
    stream = body("EventStream", "orders", redis_stream_spec())
    with pytest.raises(kopf.PermanentError, match="checked again on every resync"):
        await call(eventstream_create, stream, memo, retry=2)


async def test_children_are_applied_and_readiness_follows_their_status(
    api: kmock.KubernetesEmulator, memo: kopf.Memo
) -> None:
    add_secrets(api)
    # A tenant whose first pass has not written its status yet (and that Kopf's index may not
    # hold yet): its key is mounted already, from what the API server lists.
    tenant = body("TenantConfig", "acme", tenant_spec())
    put(api, "ragline.dev/v1alpha1/tenantconfigs", tenant)
    stream = body("EventStream", "orders", redis_stream_spec())

    first = await call(eventstream_create, stream, memo)

    for name in ("orders-relay", "orders-notifier"):
        assert stored(api, DEPLOYMENTS, name) is not None
    assert stored(api, "v1/services", "orders-notifier") is not None
    assert stored(api, "v1/services", "orders-relay-metrics") is not None
    state = conditions(first["status"])
    assert state["Ready"][0] == "False"
    assert state["Progressing"][0] == "True"
    assert state["MonitoringReady"] == ("False", "CRDNotInstalled")
    assert first["status"]["endpoints"] == {"notifier": "http://orders-notifier.shop.svc:8080"}
    notifier = stored(api, DEPLOYMENTS, "orders-notifier")
    assert notifier is not None
    volumes = notifier["spec"]["template"]["spec"]["volumes"]
    assert {"secretName": "acme-signing-key", "optional": True} in [
        v.get("secret") for v in volumes
    ]

    mark_ready(api, "orders-relay")
    mark_ready(api, "orders-notifier")
    second = await call(eventstream_update, with_status(stream, first), memo, tenants=[tenant])

    state = conditions(second["status"])
    assert state["Ready"] == ("True", "Ready")
    assert state["RelayReady"] == ("True", "Available")
    assert state["NotifierReady"] == ("True", "Available")
    assert second["status"]["replicas"] == 2


async def test_a_changed_secret_value_rolls_the_pods(
    api: kmock.KubernetesEmulator, memo: kopf.Memo
) -> None:
    add_secrets(api)
    stream = body("EventStream", "orders", redis_stream_spec())
    await call(eventstream_create, stream, memo)

    def checksum() -> str:
        relay = stored(api, DEPLOYMENTS, "orders-relay")
        assert relay is not None
        return str(
            relay["spec"]["template"]["metadata"]["annotations"]["ragline.dev/secrets-checksum"]
        )

    before = checksum()
    add_secrets(api, dsn="postgresql://db-with-new-password")
    await call(eventstream_update, stream, memo)
    assert checksum() != before


async def test_a_service_monitor_when_the_prometheus_operator_is_installed(
    api: kmock.KubernetesEmulator, memo: kopf.Memo
) -> None:
    add_secrets(api)
    api.resources["monitoring.coreos.com/v1/servicemonitors"] = kmock.ResourceInfo()
    spec = redis_stream_spec(monitoring={"labels": {"release": "prom"}})

    patch = await call(eventstream_create, body("EventStream", "orders", spec), memo)

    monitor = stored(api, "monitoring.coreos.com/v1/servicemonitors", "orders-metrics")
    assert monitor is not None
    assert monitor["metadata"]["labels"]["release"] == "prom"
    assert monitor["spec"]["endpoints"][0]["port"] == "http"
    assert conditions(patch["status"])["MonitoringReady"] == ("True", "ServiceMonitorApplied")


async def test_autoscaling_leaves_replicas_to_the_scaler_and_awaits_its_first_poll(
    api: kmock.KubernetesEmulator, memo: kopf.Memo
) -> None:
    add_secrets(api)
    spec: dict[str, Any] = redis_stream_spec(autoscaling={"maxReplicas": 4})
    patch = await call(eventstream_create, body("EventStream", "orders", spec), memo)

    notifier = stored(api, DEPLOYMENTS, "orders-notifier")
    assert notifier is not None
    assert "replicas" not in notifier["spec"]
    assert conditions(patch["status"])["ScalingActive"] == ("False", "AwaitingFirstPoll")


async def test_the_stream_is_ensured_and_its_creation_announced_once(
    api: kmock.KubernetesEmulator, memo: kopf.Memo, backends: FakeBackends
) -> None:
    add_secrets(api)
    stream = body("EventStream", "orders", redis_stream_spec())

    first = with_status(stream, await call(eventstream_create, stream, memo))
    second = with_status(first, await call(eventstream_update, first, memo))

    (target,) = {t.name: t for t in backends.ensured}.values()
    assert (target.name, target.address, target.groups) == (
        "orders",
        "redis://127.0.0.1:6379/0",
        (),
    )
    state = conditions(second["status"])
    assert state["BrokerReachable"] == ("True", "Connected")
    assert state["StreamReady"] == ("True", "StreamReady")
    assert [e["reason"] for e in events(api)].count("StreamCreated") == 1


async def test_an_unreachable_broker_keeps_the_stream_from_ready(
    api: kmock.KubernetesEmulator, memo: kopf.Memo, backends: FakeBackends
) -> None:
    add_secrets(api)
    backends.reachable = False
    stream = body("EventStream", "orders", redis_stream_spec())
    for name in ("orders-relay", "orders-notifier"):
        await call(eventstream_create, stream, memo)
        mark_ready(api, name)

    patch = await call(eventstream_update, stream, memo)

    state = conditions(patch["status"])
    assert state["BrokerReachable"] == ("False", "Unreachable")
    assert state["StreamReady"] == ("Unknown", "BrokerUnreachable")
    assert state["RelayReady"] == ("True", "Available")
    assert state["Ready"] == ("False", "Unreachable")
    assert state["Degraded"][0] == "True"


async def test_the_outbox_backlog_is_read_from_the_named_database_into_the_status(
    api: kmock.KubernetesEmulator, memo: kopf.Memo, backends: FakeBackends
) -> None:
    add_secrets(api, dsn="postgresql://relay:pw@db/shop")
    backends.outbox = OutboxReading(
        True, "Read", "3 pending", pending=3, oldest_pending_seconds=12, dead_letters=1
    )
    stream = body("EventStream", "orders", redis_stream_spec())

    first = with_status(stream, await call(eventstream_create, stream, memo))

    assert backends.outbox_dsns == ["postgresql://relay:pw@db/shop"]
    assert first["status"]["outbox"] == {"pending": 3, "oldestPendingSeconds": 12, "deadLetters": 1}

    # Unreadable later (database down, or a fresh database not migrated yet): the figures go
    # rather than stay stale, and readiness does not depend on them.
    backends.outbox = OutboxReading(False, "Unreachable", "PostgreSQL at db: refused")
    patch = await call(eventstream_update, first, memo)
    second = with_status(first, patch)

    assert patch["status"]["outbox"] is None
    assert "outbox" not in second["status"]
    assert "refused" not in str(second["status"])
