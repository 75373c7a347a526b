"""The operator's one door to the backends: bounded, concurrency-limited, briefly cached.

A hundred RagPipelines sharing one database must not open a hundred connections every few
seconds: answers are cached for ``ttl`` seconds per target (keyed by a digest of the secret, never
the secret), concurrent askers of the same question share one call, and at most ``concurrency``
calls run at once. Failures are cached too, so an unreachable broker is not hammered.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Hashable
from dataclasses import dataclass, field
from typing import Generic, Protocol, TypeVar

from ragline_operator.backends import outbox, probes, streams
from ragline_operator.backends.common import ProbeResult, StreamReport, StreamTarget, digest
from ragline_operator.backends.outbox import OutboxReading

T = TypeVar("T")


class Backends(Protocol):
    """What reconcile passes need from outside Kubernetes (tests substitute a fake)."""

    async def ensure_stream(self, target: StreamTarget) -> StreamReport:
        """Make the topic or stream and its groups exist; report what was found and done."""
        ...

    async def delete_stream(self, target: StreamTarget) -> None:
        """Delete the topic or stream; :class:`BackendError` when that is not possible now."""
        ...

    async def probe_database(self, dsn: str) -> ProbeResult:
        """Whether PostgreSQL accepts the DSN and offers pgvector."""
        ...

    async def probe_llm(self, base_url: str, api_key: str | None) -> ProbeResult:
        """Whether the OpenAI-compatible endpoint answers and accepts the key."""
        ...

    async def read_outbox(self, dsn: str) -> OutboxReading:
        """The outbox backlog in the database at ``dsn``."""
        ...


@dataclass
class TtlCache(Generic[T]):
    """Single-flight memo: one call per key at a time, its answer kept for ``ttl`` seconds."""

    ttl: float
    clock: Callable[[], float] = time.monotonic
    _answers: dict[Hashable, tuple[float, T]] = field(default_factory=dict)
    _running: dict[Hashable, asyncio.Future[T]] = field(default_factory=dict)

    async def get(
        self,
        key: Hashable,
        call: Callable[[], Awaitable[T]],
        *,
        keep: Callable[[T], T] = lambda answer: answer,
    ) -> T:
        """The cached answer for ``key``, else ``call()``'s (stored as ``keep(answer)``)."""
        now = self.clock()
        cached = self._answers.get(key)
        if cached is not None and now - cached[0] < self.ttl:
            return cached[1]
        running = self._running.get(key)
        if running is not None:
            return await asyncio.shield(running)
        future: asyncio.Future[T] = asyncio.get_running_loop().create_future()
        self._running[key] = future
        try:
            answer = await call()
        except BaseException as exc:
            future.set_exception(exc)
            future.exception()  # retrieved: nobody may be waiting
            raise
        else:
            self._answers[key] = (self.clock(), keep(answer))
            future.set_result(keep(answer))
            return answer
        finally:
            del self._running[key]
            self._evict(now)

    def forget(self, key: Hashable) -> None:
        """Drop the cached answer for ``key`` (e.g. after deleting what it describes)."""
        self._answers.pop(key, None)

    def _evict(self, now: float) -> None:
        stale = [key for key, (at, _) in self._answers.items() if now - at >= self.ttl]
        for key in stale:
            del self._answers[key]


@dataclass
class CachedBackends:
    """:class:`Backends` talking to the real servers, through :class:`TtlCache` and a gate."""

    timeout: float
    ttl: float
    concurrency: int
    _gate: asyncio.Semaphore = field(init=False)
    _streams: TtlCache[StreamReport] = field(init=False)
    _probes: TtlCache[ProbeResult] = field(init=False)
    _outboxes: TtlCache[OutboxReading] = field(init=False)

    def __post_init__(self) -> None:
        self._gate = asyncio.Semaphore(self.concurrency)
        self._streams = TtlCache(self.ttl)
        self._probes = TtlCache(self.ttl)
        self._outboxes = TtlCache(self.ttl)

    async def _gated(self, call: Awaitable[T]) -> T:
        async with self._gate:
            return await call

    async def ensure_stream(self, target: StreamTarget) -> StreamReport:
        """Ensure the topic or stream (cached; one-off facts are reported once)."""
        return await self._streams.get(
            target.cache_key(),
            lambda: self._gated(streams.ensure_stream(target, seconds=self.timeout)),
            keep=StreamReport.settled,
        )

    async def delete_stream(self, target: StreamTarget) -> None:
        """Delete the topic or stream (never cached)."""
        await self._gated(streams.delete_stream(target, seconds=self.timeout))
        self._streams.forget(target.cache_key())

    async def probe_database(self, dsn: str) -> ProbeResult:
        """Probe PostgreSQL (cached per DSN)."""
        return await self._probes.get(
            ("database", digest(dsn)),
            lambda: self._gated(probes.probe_database(dsn, seconds=self.timeout)),
        )

    async def probe_llm(self, base_url: str, api_key: str | None) -> ProbeResult:
        """Probe the LLM endpoint (cached per URL and key)."""
        return await self._probes.get(
            ("llm", base_url, digest(api_key or "")),
            lambda: self._gated(probes.probe_llm(base_url, api_key, seconds=self.timeout)),
        )

    async def read_outbox(self, dsn: str) -> OutboxReading:
        """Read the outbox backlog (cached per DSN: EventStreams sharing a database share it)."""
        return await self._outboxes.get(
            digest(dsn), lambda: self._gated(outbox.read_outbox(dsn, seconds=self.timeout))
        )
