"""Level-triggered healing: edited or deleted children come back, pausing stops it, and an
operator killed outright in the middle of reconciling converges after a restart."""

from __future__ import annotations

import json
from typing import Any

import pytest

from ragline_dev.infra.kube import Kubectl
from tests.e2e.operator.support import (
    Backends,
    OperatorProcess,
    all_ready,
    apply_samples,
    condition_is,
    eventually,
    items,
    never,
    ready,
    resource,
)

pytestmark = pytest.mark.e2e

# A short resync so that putting back what someone changed is quick to observe.
RESYNC_SECONDS = 3
OPERATOR_SETTINGS = {"resync_seconds": str(RESYNC_SECONDS)}
PIPELINES = 6


def container(deployment: dict[str, Any] | None) -> dict[str, Any]:
    assert deployment is not None
    first: dict[str, Any] = deployment["spec"]["template"]["spec"]["containers"][0]
    return first


async def test_deleted_and_edited_children_are_restored(
    kube: Kubectl, namespace: str, backends: Backends, operator: OperatorProcess
) -> None:
    custom = apply_samples(kube, backends, namespace)
    eventually(lambda: all_ready(kube, namespace, custom), "the samples are Ready")
    image = container(resource(kube, "deployment", "orders-relay", namespace))["image"]
    service_uid = resource(kube, "service", "orders-notifier", namespace)

    kube.check("delete", "service", "orders-notifier", "-n", namespace)
    kube.check("delete", "deployment", "shop-api", "-n", namespace)
    kube.check("delete", "configmap", "ragline-tenants", "-n", namespace)
    kube.check(
        "patch",
        "deployment",
        "orders-relay",
        "-n",
        namespace,
        "--type=json",
        "-p",
        json.dumps(
            [
                {"op": "replace", "path": "/spec/replicas", "value": 3},
                {
                    "op": "replace",
                    "path": "/spec/template/spec/containers/0/image",
                    "value": "evil.example/relay:latest",
                },
            ]
        ),
    )

    def restored() -> bool:
        relay = resource(kube, "deployment", "orders-relay", namespace)
        service = resource(kube, "service", "orders-notifier", namespace)
        return (
            relay is not None
            and relay["spec"]["replicas"] == 1
            and container(relay)["image"] == image
            and service is not None
            and resource(kube, "deployment", "shop-api", namespace) is not None
            and resource(kube, "configmap", "ragline-tenants", namespace) is not None
        )

    eventually(restored, "every deleted or edited child is back as the operator wants it")
    assert service_uid is not None
    recreated = resource(kube, "service", "orders-notifier", namespace)
    assert recreated is not None
    assert recreated["metadata"]["uid"] != service_uid["metadata"]["uid"]
    eventually(lambda: all_ready(kube, namespace, custom), "Ready again")


async def test_paused_resource_is_left_alone_until_resumed(
    kube: Kubectl, namespace: str, backends: Backends, operator: OperatorProcess
) -> None:
    custom = apply_samples(kube, backends, namespace)
    eventually(lambda: all_ready(kube, namespace, custom), "the samples are Ready")

    kube.check("annotate", "eventstream", "orders", "-n", namespace, "ragline.dev/paused=true")

    def says_paused() -> bool:
        condition = condition_is(kube, "eventstream", "orders", namespace, "Progressing", "False")
        return condition is not None and condition["reason"] == "Paused"

    eventually(says_paused, "Progressing=False with reason Paused")
    kube.check("delete", "service", "orders-notifier", "-n", namespace)
    never(
        lambda: resource(kube, "service", "orders-notifier", namespace) is not None,
        "a paused EventStream's Service was put back",
        for_seconds=2 * RESYNC_SECONDS,
    )

    kube.check("annotate", "eventstream", "orders", "-n", namespace, "ragline.dev/paused-")
    eventually(
        lambda: resource(kube, "service", "orders-notifier", namespace),
        "the Service is back once the EventStream is resumed",
    )


async def test_operator_killed_mid_reconcile_converges_after_restart(
    kube: Kubectl, namespace: str, backends: Backends, operator: OperatorProcess
) -> None:
    custom = apply_samples(kube, backends, namespace)
    eventually(lambda: all_ready(kube, namespace, custom), "the samples are Ready")
    shop = resource(kube, "ragpipeline", "shop", namespace)
    assert shop is not None
    more = []
    for index in range(PIPELINES):
        pipeline = json.loads(json.dumps(shop))
        pipeline["metadata"] = {"name": f"shop-{index}"}
        pipeline.pop("status")
        more.append(pipeline)

    kube.apply(*more, namespace=namespace)
    # Kill as soon as the first child of the new pipelines exists: reconciling is under way.
    eventually(
        lambda: any(
            d["metadata"]["name"].startswith("shop-0-") for d in items(kube, "jobs", namespace)
        ),
        "the operator started on the new pipelines",
        timeout=30,
    )
    operator.kill()
    unfinished = [
        p["metadata"]["name"]
        for p in more
        if not ready(kube, "RagPipeline", p["metadata"]["name"], namespace)
    ]
    assert unfinished, "every pipeline was done before the kill: nothing was interrupted"

    operator.start()

    eventually(lambda: all_ready(kube, namespace, [*custom, *more]), "every pipeline is Ready")
    jobs = [j["metadata"]["name"] for j in items(kube, "jobs", namespace)]
    for pipeline in more:
        name = pipeline["metadata"]["name"]
        mine = [j for j in jobs if j.rsplit("-", 2)[0] == name]
        assert len(mine) == 2, (name, mine)  # one migration, one ingestion: nothing doubled
        assert resource(kube, "deployment", f"{name}-api", namespace) is not None
