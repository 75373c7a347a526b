"""Cache-aside in Redis that a reader can never poison with a stale value, and that a cold key
cannot stampede.

Readers that miss race for a *lease* (``SET lease NX PX``): the winner loads from the database
and stores the value only if its lease is still there (one Lua script); the others poll the key
briefly, then load for themselves without storing. Writers, after their transaction commits, delete
the value *and* the lease. That ordering is the whole argument:

- a filler that read the database before the writer committed holds a lease the writer deleted
  after committing, so its store is refused;
- a filler whose lease was taken after the writer deleted it reads the database after the commit,
  so it sees the new value.

Hence once a write has returned, no reader sees the old value (up to the writer's invalidation
failing, which is logged; the TTL bounds that case). Absent values are cached too, as a marker, so
a hot missing key does not hammer the database either.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from prometheus_client import Counter
from redis.asyncio import Redis
from redis.exceptions import RedisError

from ragline_common.logs import get_logger
from ragline_common.metrics import CacheMetrics

log = get_logger(__name__)
ABSENT = b"\x00absent"

# On a miss: the value if it appeared meanwhile, else the lease if nobody holds it. Atomic, so a
# reader cannot miss, see the filler store and release, and then take a second lease.
_GET_OR_LEASE = """
local value = redis.call('GET', KEYS[1])
if value then
  return {1, value}
end
if redis.call('SET', KEYS[2], ARGV[1], 'NX', 'PX', ARGV[2]) then
  return {2, ''}
end
return {0, ''}
"""

_STORE_IF_LEASED = """
if redis.call('GET', KEYS[2]) == ARGV[1] then
  redis.call('SET', KEYS[1], ARGV[2], 'EX', ARGV[3])
  redis.call('DEL', KEYS[2])
  return 1
end
return 0
"""

Loader = Callable[[], Awaitable[bytes | None]]


def _as_value(cached: bytes | str) -> bytes | None:
    raw = cached.encode() if isinstance(cached, str) else cached
    return None if raw == ABSENT else raw


@dataclass(frozen=True)
class CachePolicy:
    """Timings of a leased cache."""

    ttl_seconds: int = 300
    # A lease outlives a normal database read many times over; if the filler dies, others wait
    # at most this long before one of them takes over.
    lease_ms: int = 2000
    wait_step_seconds: float = 0.005
    wait_steps: int = 40


class LeasedCache:
    """Values under ``<prefix>:{<key>}`` with leases under ``<prefix>:{<key>}:lease``.

    The braces are a Redis Cluster hash tag: a value and its lease live in the same slot, so the
    Lua script and the two-key delete work on a cluster too.
    """

    def __init__(
        self,
        redis: Redis,
        *,
        name: str,
        prefix: str,
        policy: CachePolicy | None = None,
        metrics: CacheMetrics | None = None,
    ) -> None:
        self._redis = redis
        self.name = name
        self._prefix = prefix
        self.policy = policy or CachePolicy()
        self._metrics = metrics
        self._lookups: dict[str, Counter] = {}
        self._store = redis.register_script(_STORE_IF_LEASED)
        self._get_or_lease = redis.register_script(_GET_OR_LEASE)

    def _keys(self, key: str) -> tuple[str, str]:
        value_key = f"{self._prefix}:{{{key}}}"
        return value_key, value_key + ":lease"

    def _count(self, result: str) -> None:
        if self._metrics is None:
            return
        # The labelled child, kept: ``labels()`` costs a lock and a lookup, on every cache hit.
        counter = self._lookups.get(result)
        if counter is None:
            counter = self._lookups[result] = self._metrics.lookups.labels(self.name, result)
        counter.inc()

    async def get_or_load(self, key: str, loader: Loader) -> bytes | None:
        """Return the cached value of ``key``, loading (and caching) it on a miss.

        ``loader`` returns the value's bytes, or None when the thing does not exist. Redis errors
        degrade to calling ``loader`` directly.
        """
        value_key, lease_key = self._keys(key)
        try:
            cached = await self._redis.get(value_key)
            if cached is not None:
                self._count("hit")
                return _as_value(cached)
            token = uuid.uuid4().hex
            outcome, value = await self._get_or_lease(
                keys=[value_key, lease_key], args=[token, self.policy.lease_ms]
            )
        except RedisError as exc:
            log.warning("cache unavailable; reading through", cache=self.name, error=str(exc))
            self._count("error")
            return await loader()
        if outcome == 1:
            self._count("wait")
            return _as_value(value)
        if outcome == 2:
            self._count("miss")
            return await self._fill(value_key, lease_key, token, loader)
        return await self._wait(value_key, loader)

    async def _fill(
        self, value_key: str, lease_key: str, token: str, loader: Loader
    ) -> bytes | None:
        try:
            value = await loader()
        except BaseException:
            await self._release(lease_key, token)
            raise
        try:
            await self._store(
                keys=[value_key, lease_key],
                args=[token, ABSENT if value is None else value, self.policy.ttl_seconds],
            )
        except RedisError as exc:
            log.warning("cache store failed", cache=self.name, error=str(exc))
        return value

    async def _release(self, lease_key: str, token: str) -> None:
        try:
            if await self._redis.get(lease_key) == token.encode():
                await self._redis.delete(lease_key)
        except RedisError:
            pass  # the lease expires by itself

    async def _wait(self, value_key: str, loader: Loader) -> bytes | None:
        """Another reader is filling: poll for its value, then give up and read through."""
        for _ in range(self.policy.wait_steps):
            await asyncio.sleep(self.policy.wait_step_seconds)
            try:
                cached = await self._redis.get(value_key)
            except RedisError:
                break
            if cached is not None:
                self._count("wait")
                return _as_value(cached)
        self._count("fallback")
        return await loader()

    async def invalidate(self, *keys: str) -> None:
        """Delete the values and leases of ``keys``; call after the write has committed."""
        names = [name for key in keys for name in self._keys(key)]
        if names:
            await self._redis.delete(*names)
            if self._metrics is not None:
                self._metrics.invalidations.labels(self.name).inc(len(keys))
