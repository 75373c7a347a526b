"""The operator's API client: what it sends, and how it translates failures."""

from __future__ import annotations

import json

import kmock
import pytest

from ragline_operator.k8s.client import APPLY_PATCH, MERGE_PATCH, KubeClient, resource_path
from ragline_operator.k8s.errors import (
    ConflictError,
    ForbiddenError,
    InvalidError,
    NotFoundError,
    UnavailableError,
)
from tests.unit.operator.samples import NAMESPACE


def last_request(api: kmock.KubernetesEmulator) -> kmock.Request:
    return list(api)[-1]


CONFIG_MAP = {
    "apiVersion": "v1",
    "kind": "ConfigMap",
    "metadata": {"name": "settings", "namespace": NAMESPACE},
    "data": {"a": "1"},
}


def test_paths_cover_core_and_group_resources() -> None:
    assert resource_path("v1", "Secret", "ns", "s") == "/api/v1/namespaces/ns/secrets/s"
    assert (
        resource_path("apps/v1", "Deployment", "ns", "d", subresource="status")
        == "/apis/apps/v1/namespaces/ns/deployments/d/status"
    )
    assert resource_path("ragline.dev/v1alpha1", "RagPipeline", "ns") == (
        "/apis/ragline.dev/v1alpha1/namespaces/ns/ragpipelines"
    )
    with pytest.raises(ValueError, match="unknown resource"):
        resource_path("v1", "Nonsense", "ns")


async def test_apply_is_a_forced_server_side_apply_with_our_field_manager(
    api: kmock.KubernetesEmulator, client: KubeClient
) -> None:
    stored = await client.apply(CONFIG_MAP)

    assert stored["data"] == {"a": "1"}
    request = last_request(api)
    assert request.method == "PATCH"
    assert request.headers["Content-Type"] == APPLY_PATCH
    assert request.params == {"fieldManager": "ragline-operator", "force": "true"}
    assert api.objects["v1/configmaps", NAMESPACE, "settings"]["data"] == {"a": "1"}


async def test_applying_twice_changes_nothing(
    api: kmock.KubernetesEmulator, client: KubeClient
) -> None:
    await client.apply(CONFIG_MAP)
    await client.apply(CONFIG_MAP)

    assert api.objects["v1/configmaps", NAMESPACE, "settings"]["data"] == {"a": "1"}


async def test_get_returns_none_for_a_missing_object(client: KubeClient) -> None:
    assert await client.get("v1", "Secret", NAMESPACE, "absent") is None


async def test_delete_of_a_missing_object_is_not_an_error(client: KubeClient) -> None:
    assert await client.delete("v1", "ConfigMap", NAMESPACE, "absent") is False
    await client.apply(CONFIG_MAP)
    assert await client.delete("v1", "ConfigMap", NAMESPACE, "settings") is True


async def test_status_goes_to_the_status_subresource_as_a_merge_patch(
    api: kmock.KubernetesEmulator, client: KubeClient
) -> None:
    await client.apply(CONFIG_MAP)
    await client.patch_status("v1", "ConfigMap", NAMESPACE, "settings", {"ready": None})

    request = last_request(api)
    assert request.url.path.endswith("/configmaps/settings/status")
    assert request.headers["Content-Type"] == MERGE_PATCH
    assert json.loads(request.body) == {"status": {"ready": None}}


@pytest.mark.parametrize(
    ("status", "error"),
    [
        (404, NotFoundError),
        (409, ConflictError),
        (422, InvalidError),
        (403, ForbiddenError),
        (500, UnavailableError),
        (429, UnavailableError),
    ],
)
async def test_failures_are_translated_with_the_servers_message(
    api: kmock.KubernetesEmulator,
    client: KubeClient,
    status: int,
    error: type[Exception],
) -> None:
    (
        api["patch", kmock.resource("v1/configmaps")]
        << status
        << {
            "kind": "Status",
            "reason": "Because",
            "message": "spec.x: is wrong",
        }
    )

    with pytest.raises(error, match=r"spec\.x: is wrong"):
        await client.apply(CONFIG_MAP)


async def test_discovery_says_whether_an_api_is_served(
    api: kmock.KubernetesEmulator, client: KubeClient
) -> None:
    assert await client.serves("monitoring.coreos.com/v1") is False
    api.resources["monitoring.coreos.com/v1/servicemonitors"] = kmock.ResourceInfo()
    assert await client.serves("monitoring.coreos.com/v1") is True


async def test_every_request_is_counted(client: KubeClient) -> None:
    await client.get("v1", "Secret", NAMESPACE, "a")
    await client.get("v1", "Secret", NAMESPACE, "b")
    assert client.requests == 2
