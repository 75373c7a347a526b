"""How many tokens a process leases from the shared bucket at once."""

from __future__ import annotations

from ragline_common.ratelimit import MAX_LEASE_TOKENS, RateLimiter


def test_small_buckets_are_accounted_per_request() -> None:
    assert RateLimiter.lease_size(rate=0.5, burst=3) == 1
    assert RateLimiter.lease_size(rate=5, burst=10) == 1


def test_generous_buckets_lease_a_tenth_of_the_burst_within_bounds() -> None:
    assert RateLimiter.lease_size(rate=50, burst=100) == 10
    assert RateLimiter.lease_size(rate=3, burst=1000) == 3  # at most a second's worth
    assert RateLimiter.lease_size(rate=1e6, burst=10**6) == MAX_LEASE_TOKENS
