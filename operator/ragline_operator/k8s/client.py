"""The operator's own Kubernetes client: server-side apply, reads, deletes, Events.

Kopf watches and patches the custom resources themselves; everything the operator *makes* goes
through :class:`KubeClient`, the only code here that talks to the API server. Children are written
with server-side apply (``PATCH`` as ``application/apply-patch+yaml`` with a field manager and
``force``): the first apply creates, later ones update only the fields the operator owns and take
back fields someone else edited, and a field the operator stops sending is removed. That makes
"apply everything on every pass" correct and idempotent, without check-then-create races.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

import httpx

from ragline_operator.k8s.errors import (
    ApiError,
    ForbiddenError,
    NotFoundError,
    UnavailableError,
    raise_for_status,
)
from ragline_operator.models import EVENTSTREAM, RAGPIPELINE, TENANTCONFIG
from ragline_operator.models.base import API_VERSION

APPLY_PATCH = "application/apply-patch+yaml"
MERGE_PATCH = "application/merge-patch+json"
SCALER_MANAGER = "ragline-scaler"
FIELD_MANAGER = "ragline-operator"

PLURALS: Mapping[tuple[str, str], str] = {
    ("v1", "Secret"): "secrets",
    ("v1", "ConfigMap"): "configmaps",
    ("v1", "Service"): "services",
    ("v1", "Pod"): "pods",
    ("v1", "Event"): "events",
    ("apps/v1", "Deployment"): "deployments",
    ("apps/v1", "StatefulSet"): "statefulsets",
    ("batch/v1", "Job"): "jobs",
    ("monitoring.coreos.com/v1", "ServiceMonitor"): "servicemonitors",
    ("keda.sh/v1alpha1", "ScaledObject"): "scaledobjects",
    ("keda.sh/v1alpha1", "TriggerAuthentication"): "triggerauthentications",
    **{(API_VERSION, k.kind): k.plural for k in (TENANTCONFIG, EVENTSTREAM, RAGPIPELINE)},
}

Obj = dict[str, Any]
Relogin = Callable[[], Awaitable[Mapping[str, str]]]


def resource_path(
    api_version: str,
    kind: str,
    namespace: str,
    name: str | None = None,
    *,
    subresource: str | None = None,
) -> str:
    """The REST path of a namespaced object (or of its collection when ``name`` is None)."""
    try:
        plural = PLURALS[(api_version, kind)]
    except KeyError:
        raise ValueError(f"unknown resource {api_version} {kind}") from None
    base = "/api/v1" if api_version == "v1" else f"/apis/{api_version}"
    path = f"{base}/namespaces/{namespace}/{plural}"
    if name is not None:
        path += f"/{name}"
    if subresource is not None:
        path += f"/{subresource}"
    return path


class KubeClient:
    """A thin async client over one ``httpx.AsyncClient`` (base URL and credentials set)."""

    def __init__(
        self,
        http: httpx.AsyncClient,
        *,
        field_manager: str = FIELD_MANAGER,
        relogin: Relogin | None = None,
    ) -> None:
        self._http = http
        self._relogin = relogin
        self.field_manager = field_manager
        self.requests = 0  # every request made, for the operator benchmark

    async def aclose(self) -> None:
        """Close the connection pool."""
        await self._http.aclose()

    async def _request(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        response = await self._send(method, path, **kwargs)
        if response.status_code == httpx.codes.UNAUTHORIZED and self._relogin is not None:
            # Projected service-account tokens rotate; fetch fresh credentials once.
            self._http.headers.update(await self._relogin())
            response = await self._send(method, path, **kwargs)
        raise_for_status(response)
        return response

    async def _send(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        self.requests += 1
        try:
            return await self._http.request(method, path, **kwargs)
        except httpx.TransportError as exc:
            raise UnavailableError(0, type(exc).__name__, str(exc), verb=method, path=path) from exc

    async def get(self, api_version: str, kind: str, namespace: str, name: str) -> Obj | None:
        """The object, or None if it does not exist."""
        try:
            response = await self._request("GET", resource_path(api_version, kind, namespace, name))
        except NotFoundError:
            return None
        return dict(response.json())

    async def list(
        self,
        api_version: str,
        kind: str,
        namespace: str,
        *,
        label_selector: Mapping[str, str] | None = None,
    ) -> list[Obj]:
        """Objects of a kind in a namespace, optionally filtered by labels."""
        params = {}
        if label_selector:
            params["labelSelector"] = ",".join(f"{k}={v}" for k, v in label_selector.items())
        response = await self._request(
            "GET", resource_path(api_version, kind, namespace), params=params
        )
        return list(response.json().get("items") or [])

    async def apply(self, manifest: Mapping[str, Any]) -> Obj:
        """Server-side apply ``manifest``; returns the object as stored (status included)."""
        meta = manifest["metadata"]
        path = resource_path(
            manifest["apiVersion"], manifest["kind"], meta["namespace"], meta["name"]
        )
        response = await self._request(
            "PATCH",
            path,
            params={"fieldManager": self.field_manager, "force": "true"},
            content=json.dumps(manifest).encode(),  # JSON is YAML: no YAML encoder needed
            headers={"Content-Type": APPLY_PATCH},
        )
        return dict(response.json())

    async def patch_status(
        self, api_version: str, kind: str, namespace: str, name: str, status: Mapping[str, Any]
    ) -> Obj:
        """Merge-patch the status subresource (None values delete fields)."""
        path = resource_path(api_version, kind, namespace, name, subresource="status")
        response = await self._request(
            "PATCH",
            path,
            content=json.dumps({"status": dict(status)}).encode(),
            headers={"Content-Type": MERGE_PATCH},
        )
        return dict(response.json())

    async def merge_patch(
        self, api_version: str, kind: str, namespace: str, name: str, patch: Mapping[str, Any]
    ) -> Obj:
        """JSON merge patch of an object (atomic on the server; None values delete keys)."""
        response = await self._request(
            "PATCH",
            resource_path(api_version, kind, namespace, name),
            content=json.dumps(dict(patch)).encode(),
            headers={"Content-Type": MERGE_PATCH},
        )
        return dict(response.json())

    async def delete(self, api_version: str, kind: str, namespace: str, name: str) -> bool:
        """Delete (children in the background); False if it was already gone."""
        try:
            await self._request(
                "DELETE",
                resource_path(api_version, kind, namespace, name),
                params={"propagationPolicy": "Background"},
            )
        except NotFoundError:
            return False
        return True

    async def create(self, manifest: Mapping[str, Any]) -> Obj:
        """Create an object (used for Events, which are never updated)."""
        meta = manifest["metadata"]
        path = resource_path(manifest["apiVersion"], manifest["kind"], meta["namespace"])
        response = await self._request("POST", path, json=dict(manifest))
        return dict(response.json())

    async def get_scale(self, api_version: str, kind: str, namespace: str, name: str) -> Obj | None:
        """The workload's scale subresource (``spec.replicas``), or None if it does not exist.

        Reading replicas through ``scale`` needs no read access to the whole workload (its pod
        template, its env): the scaler is granted the subresource only.
        """
        try:
            response = await self._request(
                "GET", resource_path(api_version, kind, namespace, name, subresource="scale")
            )
        except NotFoundError:
            return None
        return dict(response.json())

    async def patch_scale(
        self, api_version: str, kind: str, namespace: str, name: str, *, replicas: int
    ) -> Obj:
        """Set ``spec.replicas`` through the scale subresource, as :data:`SCALER_MANAGER`.

        A separate field manager keeps ``replicas`` out of the operator's server-side applies,
        which leave it out on purpose: the scaler is its only writer.
        """
        response = await self._request(
            "PATCH",
            resource_path(api_version, kind, namespace, name, subresource="scale"),
            params={"fieldManager": SCALER_MANAGER},
            content=json.dumps({"spec": {"replicas": replicas}}).encode(),
            headers={"Content-Type": MERGE_PATCH},
        )
        return dict(response.json())

    async def serves(self, group_version: str) -> bool:
        """Whether the API server serves ``group/version`` (e.g. a CRD's API is installed)."""
        try:
            await self._request("GET", f"/apis/{group_version}")
        except NotFoundError:
            return False
        except ForbiddenError:
            # Discovery is open to every authenticated user; a refusal means "not for us".
            return False
        return True


__all__ = ["ApiError", "KubeClient", "resource_path"]
