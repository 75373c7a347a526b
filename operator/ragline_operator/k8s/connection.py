"""Credentials: the same ones for Kopf's watches and for :class:`KubeClient`.

The operator's ``on.login`` handler finds credentials once (in-cluster service account, else
kubeconfig), hands them to Kopf, and builds the ``httpx`` client from them; on a 401 the client
asks for fresh ones (projected service-account tokens rotate).
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from typing import Any

import httpx
import kopf

from ragline_operator.k8s.client import KubeClient

# Handlers run concurrently; a small pool is plenty and keeps the API server's load bounded.
MAX_CONNECTIONS = 20


def find_credentials(settings: kopf.OperatorSettings, **kwargs: Any) -> kopf.ConnectionInfo:
    """In-cluster service account first, then kubeconfig; LoginError if neither exists."""
    info = kopf.login_with_service_account(settings=settings, **kwargs)
    if info is None:
        info = kopf.login_with_kubeconfig(settings=settings, **kwargs)
    if info is None:
        raise kopf.LoginError("no service account token and no kubeconfig found")
    return info


def http_client(info: kopf.ConnectionInfo, *, timeout_seconds: float) -> httpx.AsyncClient:
    """An ``httpx`` client for ``info``: its server, CA, client certificate and token."""
    return httpx.AsyncClient(
        base_url=info.server,
        headers=info.as_http_headers(),
        verify=info.as_ssl_context(),
        timeout=httpx.Timeout(timeout_seconds),
        limits=httpx.Limits(max_connections=MAX_CONNECTIONS),
        trust_env=info.trust_env,
    )


class KubeHolder:
    """The operator's one :class:`KubeClient`, (re)built on login; shared through Kopf's memo."""

    def __init__(self, *, timeout_seconds: float, field_manager: str) -> None:
        self._timeout = timeout_seconds
        self._field_manager = field_manager
        self._client: KubeClient | None = None
        self._settings: kopf.OperatorSettings | None = None
        self._lock = asyncio.Lock()
        self.connected = asyncio.Event()

    @property
    def client(self) -> KubeClient:
        """The connected client; handlers only run after login, so it is always set then."""
        if self._client is None:
            raise RuntimeError("the Kubernetes client is used before login")
        return self._client

    async def connect(self, info: kopf.ConnectionInfo, settings: kopf.OperatorSettings) -> None:
        """Use ``info`` from now on (closing the previous client)."""
        async with self._lock:
            previous = self._client
            self._settings = settings
            self._client = KubeClient(
                http_client(info, timeout_seconds=self._timeout),
                field_manager=self._field_manager,
                relogin=self._fresh_headers,
            )
        self.connected.set()
        if previous is not None:
            await previous.aclose()

    def use(self, client: KubeClient) -> None:
        """Use an already built client (tests)."""
        self._client = client
        self.connected.set()

    async def _fresh_headers(self) -> Mapping[str, str]:
        if self._settings is None:
            return {}
        return find_credentials(self._settings).as_http_headers()

    async def aclose(self) -> None:
        """Close the client at operator exit."""
        if self._client is not None:
            await self._client.aclose()
            self._client = None
