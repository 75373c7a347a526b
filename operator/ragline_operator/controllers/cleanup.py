"""The cleanup ledger's I/O: record EventStreams, and clean up after those that are gone.

See :mod:`ragline_operator.reconcile.cleanup` for why this is a ledger and not a finalizer. The
ledger is one Secret in the operator's namespace; each write is a JSON merge patch of one key, so
concurrent passes never overwrite each other's records. This process keeps a copy in memory to
skip writing records that did not change; the sweep re-reads it.
"""

from __future__ import annotations

import asyncio
import base64
import logging
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from ragline_operator.backends.cached import Backends
from ragline_operator.backends.common import BackendError
from ragline_operator.k8s.client import KubeClient
from ragline_operator.k8s.connection import KubeHolder
from ragline_operator.k8s.errors import ApiError, ConflictError, NotFoundError
from ragline_operator.models import EVENTSTREAM
from ragline_operator.models.base import API_VERSION
from ragline_operator.reconcile.cleanup import (
    CleanupRecord,
    CleanupStep,
    failing,
    give_up,
    plan_cleanup,
)
from ragline_operator.resources.common import LABEL_MANAGED_BY, LABEL_PART_OF, MANAGER, PART_OF

LEDGER_SECRET = "ragline-operator-cleanup"  # noqa: S105 - a name, not a secret
log = logging.getLogger(__name__)


def _encode(record: CleanupRecord) -> str:
    return base64.b64encode(record.to_json().encode()).decode()


def _decode(data: dict[str, Any]) -> dict[str, CleanupRecord]:
    records = {}
    for uid, value in data.items():
        try:
            records[uid] = CleanupRecord.from_json(base64.b64decode(value).decode())
        except (ValueError, KeyError, TypeError):
            log.warning("ignoring an unreadable cleanup record %s in %s", uid, LEDGER_SECRET)
    return records


@dataclass
class Ledger:
    """The cleanup ledger Secret in ``namespace``, with this process's copy of it."""

    namespace: str
    records: dict[str, CleanupRecord] | None = None
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)

    @property
    def where(self) -> str:
        """``namespace/name`` of the Secret, for messages."""
        return f"Secret {self.namespace}/{LEDGER_SECRET}"

    async def load(self, client: KubeClient) -> dict[str, CleanupRecord]:
        """Read the ledger (empty when the Secret does not exist yet)."""
        secret = await client.get("v1", "Secret", self.namespace, LEDGER_SECRET)
        self.records = _decode(dict((secret or {}).get("data") or {}))
        return dict(self.records)

    async def known(self, client: KubeClient) -> dict[str, CleanupRecord]:
        """This process's copy, read once."""
        async with self.lock:
            if self.records is None:
                await self.load(client)
            return dict(self.records or {})

    async def put(self, client: KubeClient, record: CleanupRecord) -> None:
        """Write one record unless the ledger already holds the same."""
        if (await self.known(client)).get(record.uid) == record:
            return
        await self._patch(client, {record.uid: _encode(record)})
        if self.records is not None:
            self.records[record.uid] = record

    async def remove(self, client: KubeClient, uid: str) -> None:
        """Drop one record."""
        await self._patch(client, {uid: None})
        if self.records is not None:
            self.records.pop(uid, None)

    async def _patch(self, client: KubeClient, data: dict[str, str | None]) -> None:
        try:
            await client.merge_patch("v1", "Secret", self.namespace, LEDGER_SECRET, {"data": data})
        except NotFoundError:
            try:
                await client.create(self._manifest(data))
            except ConflictError:  # created concurrently: patch that one
                await client.merge_patch(
                    "v1", "Secret", self.namespace, LEDGER_SECRET, {"data": data}
                )

    def _manifest(self, data: dict[str, str | None]) -> dict[str, Any]:
        return {
            "apiVersion": "v1",
            "kind": "Secret",
            "type": "Opaque",
            "metadata": {
                "name": LEDGER_SECRET,
                "namespace": self.namespace,
                "labels": {LABEL_PART_OF: PART_OF, LABEL_MANAGED_BY: MANAGER},
            },
            "data": {key: value for key, value in data.items() if value is not None},
        }


async def _gone(client: KubeClient, record: CleanupRecord) -> bool:
    found = await client.get(API_VERSION, EVENTSTREAM.kind, record.namespace, record.name)
    return found is None or found.get("metadata", {}).get("uid") != record.uid


@dataclass(frozen=True)
class Cleaner:
    """Runs cleanup steps against the backends and keeps the ledger in step."""

    kube: KubeHolder
    backends: Backends
    ledger: Ledger
    give_up_after: timedelta

    @property
    def client(self) -> KubeClient:
        """The operator's API client (connected at login)."""
        return self.kube.client

    async def run(self, step: CleanupStep, *, now: datetime) -> None:
        """Delete what the step says, then drop the record; on failure retry later (bounded)."""
        record = step.record
        where = f"EventStream {record.namespace}/{record.name}"
        if step.delete is not None:
            try:
                await self.backends.delete_stream(step.delete)
            except BackendError as exc:
                if not give_up(record, now=now, after=self.give_up_after):
                    log.warning("cleanup of %s failed, retried later: %s", where, exc)
                    await self.ledger.put(self.client, failing(record, now=now))
                    return
                log.error("cleanup of %s abandoned after %s: %s", where, self.give_up_after, exc)
            else:
                log.info("%s is gone: deleted its %s %r", where, step.delete.noun, record.stream)
        else:
            log.info("%s is gone: %s %r %s", where, record.kind.value, record.stream, step.why)
        await self.ledger.remove(self.client, record.uid)

    async def after_deletion(self, uid: str) -> None:
        """An EventStream was deleted (its DELETED event): clean up now."""
        records = await self.ledger.known(self.client)
        for step in plan_cleanup(records, {uid}):
            await self.run(step, now=datetime.now(UTC))

    async def sweep(self) -> int:
        """Re-read the ledger, clean up after every EventStream that is gone; returns how many."""
        async with self.ledger.lock:
            records = await self.ledger.load(self.client)
        gone = {uid for uid, r in records.items() if await _gone(self.client, r)}
        for step in plan_cleanup(records, gone):
            await self.run(step, now=datetime.now(UTC))
        return len(gone)


async def sweep_forever(cleaner: Cleaner, *, period: float) -> None:
    """Sweep at start (catching up on deletions missed while down) and then every ``period``."""
    await cleaner.kube.connected.wait()
    while True:
        try:
            await cleaner.sweep()
        except ApiError as exc:
            log.warning("cleanup sweep failed, retried in %.0fs: %s", period, exc)
        await asyncio.sleep(period)
