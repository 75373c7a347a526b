"""KMock as the API server for the operator's handler and client tests.

KMock stores objects and serves get/list/watch/create/patch/delete from memory. It does not do
server-side apply: :class:`ApplyingEmulator` adds the one behaviour the operator relies on, that
an apply-patch of a missing object creates it (later applies are merged like any patch). It also
ignores label selectors, the status subresource's separation, validation and controllers, so the
tests here assert what the operator sends and decides, never what a cluster would do with it.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx
import kmock
import kopf
import pytest
from kmock import action as kaction

from ragline_operator.backends.common import (
    BackendError,
    ProbeResult,
    StreamReport,
    StreamTarget,
)
from ragline_operator.backends.outbox import OutboxReading
from ragline_operator.controllers.base import OperatorState
from ragline_operator.handlers.common import STATE_KEY
from ragline_operator.k8s.client import APPLY_PATCH, KubeClient
from ragline_operator.k8s.connection import KubeHolder
from ragline_operator.settings import OperatorConfig


class ApplyingEmulator(kmock.KubernetesEmulator):
    """KMock plus "server-side apply creates a missing object"."""

    async def _handle(self, request: Any) -> Any:
        content_type = request.headers.get("Content-Type", "")
        if (
            request.action == kaction.UPDATE
            and content_type.startswith(APPLY_PATCH)
            and request.resource is not None
            and not request.subresource
        ):
            key = (request.resource, request.namespace, request.name)
            async with self._lock:
                if key not in self._objects or self._objects[key].deleted:
                    data = dict(request.data)
                    meta = data.setdefault("metadata", {})
                    meta.setdefault("uid", f"uid-{request.name}")
                    meta.setdefault("creationTimestamp", "2026-01-01T00:00:00Z")
                    if key in self._objects:
                        self._objects[key].create(data)
                    else:
                        self._objects[key] = data
                    await self._buses[request.resource].put({"type": "ADDED", "object": data})
        return await super()._handle(request)


# Collections the operator lists or probes, declared so that an empty list is not a 404.
DECLARED = ("batch/v1/jobs", "v1/pods", "ragline.dev/v1alpha1/tenantconfigs")


@pytest.fixture
async def api() -> AsyncIterator[kmock.KubernetesEmulator]:
    """A fresh in-memory API server on 127.0.0.1."""
    async with ApplyingEmulator() as emulator, kmock.Server(emulator):
        for resource in DECLARED:
            emulator.resources[resource] = kmock.ResourceInfo()
        yield emulator


@pytest.fixture
async def client(api: kmock.KubernetesEmulator) -> AsyncIterator[KubeClient]:
    """The operator's client, pointed at KMock."""
    http = httpx.AsyncClient(base_url=str(api.url).rstrip("/"), trust_env=False)
    kube = KubeClient(http)
    yield kube
    await kube.aclose()


@pytest.fixture
def config() -> OperatorConfig:
    """Operator settings as a test wants them (no environment involved)."""
    return OperatorConfig(image="example.test/ragline:1.0", retry_seconds=7, handler_retries=3)


class FakeBackends:
    """Brokers, databases and LLMs as a test wants them: every call recorded, answers settable.

    Real brokers and databases are exercised by the e2e tests; here only the decisions count.
    """

    def __init__(self) -> None:
        self.reachable = True
        self.database = ProbeResult(ok=True, reason="Connected", message="PostgreSQL, pgvector")
        self.llm = ProbeResult(ok=True, reason="Reachable", message="lists its models")
        self.existing: set[str] = set()
        self.ensured: list[StreamTarget] = []
        self.deleted: list[StreamTarget] = []
        self.fail_deletes = False
        self.outbox = OutboxReading(False, "NotMigrated", "no outbox table yet")
        self.outbox_dsns: list[str] = []

    async def ensure_stream(self, target: StreamTarget) -> StreamReport:
        self.ensured.append(target)
        if not self.reachable:
            return StreamReport(False, False, "Unreachable", f"{target.where}: refused")
        created = target.name not in self.existing
        self.existing.add(target.name)
        return StreamReport(True, True, "StreamReady", f"{target.noun} {target.name}", created)

    async def delete_stream(self, target: StreamTarget) -> None:
        if self.fail_deletes:
            raise BackendError(f"{target.where}: refused")
        self.deleted.append(target)
        self.existing.discard(target.name)

    async def probe_database(self, dsn: str) -> ProbeResult:
        return self.database

    async def probe_llm(self, base_url: str, api_key: str | None) -> ProbeResult:
        return self.llm

    async def read_outbox(self, dsn: str) -> OutboxReading:
        self.outbox_dsns.append(dsn)
        return self.outbox


@pytest.fixture
def backends() -> FakeBackends:
    """The fake backends every handler test's state uses."""
    return FakeBackends()


@pytest.fixture
def state(client: KubeClient, config: OperatorConfig, backends: FakeBackends) -> OperatorState:
    """Operator-wide state using the KMock client."""
    holder = KubeHolder(timeout_seconds=5, field_manager=config.field_manager)
    holder.use(client)
    return OperatorState(config=config, kube=holder, backends=backends)


@pytest.fixture
def memo(state: OperatorState) -> Iterator[kopf.Memo]:
    """Kopf's memo as the startup handler leaves it."""
    return kopf.Memo({STATE_KEY: state})
