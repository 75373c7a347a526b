"""A per-key token bucket kept in Redis, so every replica of a service shares one budget.

One Lua script refills and takes tokens atomically, using the server's clock (replicas' clocks
need not agree). A bucket holds at most ``burst`` tokens and refills at ``rate`` per second; an
idle bucket expires once it would be full again, so idle tenants cost no memory.

A round trip per request would cost as much as the request itself, so a process *leases* a few
tokens at a time (a tenth of the burst, at most a second's worth, at most 20) and spends them
locally. A lease
is dropped after ``lease_seconds``, so unspent tokens never outlive that; the shared bucket stays
the single source of truth, and a tenant with a small burst gets a lease of one token, i.e. exact
per-request accounting.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass

from redis.asyncio import Redis
from redis.exceptions import RedisError

from ragline_common.logs import get_logger

log = get_logger(__name__)

_BUCKET_SCRIPT = """
local rate = tonumber(ARGV[1])
local burst = tonumber(ARGV[2])
local wanted = tonumber(ARGV[3])
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
local state = redis.call('HMGET', KEYS[1], 'tokens', 'ts')
local tokens = tonumber(state[1])
local ts = tonumber(state[2])
if tokens == nil then
  tokens = burst
  ts = now
end
tokens = math.min(burst, tokens + math.max(0, now - ts) * rate)
local granted = math.min(wanted, math.floor(tokens))
local wait = 0
if granted >= 1 then
  tokens = tokens - granted
else
  granted = 0
  wait = (1 - tokens) / rate
end
redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 'ts', tostring(now))
redis.call('PEXPIRE', KEYS[1], math.ceil(burst / rate * 1000) + 1000)
return {granted, tostring(wait)}
"""


LEASE_FRACTION_OF_BURST = 0.1
# However generous the tenant, a process never holds more than this many unspent tokens.
MAX_LEASE_TOKENS = 20
DEFAULT_LEASE_SECONDS = 1.0


@dataclass
class _Lease:
    tokens: int
    expires_at: float
    rate: float
    burst: int


@dataclass(frozen=True)
class Decision:
    """Whether a request may proceed, and if not, after how many seconds to retry."""

    allowed: bool
    retry_after_seconds: int = 0


class RateLimiter:
    """Token buckets under ``<prefix>:<key>`` in Redis, spent through local leases.

    If Redis cannot be reached the request is let through (and logged): the limit protects the
    service from a noisy tenant, and refusing everyone while the cache is down protects nothing.
    """

    def __init__(
        self,
        redis: Redis,
        *,
        prefix: str,
        lease_seconds: float = DEFAULT_LEASE_SECONDS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._redis = redis
        self._prefix = prefix
        self._script = redis.register_script(_BUCKET_SCRIPT)
        self._lease_seconds = lease_seconds
        self._clock = clock
        self._leases: dict[str, _Lease] = {}

    @staticmethod
    def lease_size(*, rate: float, burst: int) -> int:
        """Return how many tokens one round trip takes for a bucket of ``rate`` and ``burst``."""
        return max(1, min(int(burst * LEASE_FRACTION_OF_BURST), int(rate), MAX_LEASE_TOKENS))

    async def take(self, key: str, *, rate: float, burst: int) -> Decision:
        """Take one token from ``key``'s bucket."""
        now = self._clock()
        lease = self._leases.get(key)
        if (
            lease is not None
            and lease.tokens > 0
            and lease.expires_at > now
            and (lease.rate, lease.burst) == (rate, burst)
        ):
            lease.tokens -= 1
            return Decision(allowed=True)
        wanted = self.lease_size(rate=rate, burst=burst)
        try:
            granted, wait = await self._script(
                keys=[f"{self._prefix}:{key}"], args=[rate, burst, wanted]
            )
        except RedisError as exc:
            log.warning("rate limiter unavailable; allowing", key=key, error=str(exc))
            return Decision(allowed=True)
        granted = int(granted)
        if granted >= 1:
            # Concurrent requests may refill the same lease at once: add up, never discard.
            current = self._leases.get(key)
            spare = granted - 1
            if current is not None and current.expires_at > now and current.rate == rate:
                spare += current.tokens
            self._leases[key] = _Lease(spare, now + self._lease_seconds, rate, burst)
            return Decision(allowed=True)
        self._leases.pop(key, None)
        # Retry-After is whole seconds; rounding down would invite a retry that fails again.
        return Decision(allowed=False, retry_after_seconds=max(1, math.ceil(float(wait))))
