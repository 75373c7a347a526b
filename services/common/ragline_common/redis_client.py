"""A Redis client whose every command has one deadline, its send and its reply together.

redis-py bounds a command with ``socket_timeout`` twice: the send runs under ``asyncio.wait_for``
(on Python 3.11 a new task per command) and the read under a timeout context. On the cached
product read that task cost about a third of the whole Redis call. :class:`DeadlineRedis` turns
the socket timeout off and bounds the command once, with one ``asyncio.timeout`` around it: a
command still never waits longer than the deadline on a Redis that stopped answering, it just
costs less when Redis answers. When the deadline passes, redis-py drops the connection the
command was on (it never reuses one whose reply may still arrive) and the caller gets redis-py's
own :class:`~redis.exceptions.TimeoutError`, a :class:`~redis.exceptions.RedisError` like any other
failure of Redis, so callers that degrade on Redis errors degrade on a hang too.

Commands go through ``execute_command``, scripts included; pipelines and pub/sub have their own
connections and keep redis-py's socket timeout, so :func:`connect` is for request-path clients.
"""

from __future__ import annotations

import asyncio
from typing import Any

from redis.asyncio import ConnectionPool, Redis
from redis.exceptions import TimeoutError as RedisTimeoutError

DEFAULT_COMMAND_TIMEOUT_SECONDS = 1.0


class DeadlineRedis(Redis):
    """A :class:`~redis.asyncio.Redis` that bounds each command by ``command_timeout_seconds``."""

    command_timeout_seconds: float = DEFAULT_COMMAND_TIMEOUT_SECONDS

    async def execute_command(self, *args: Any, **options: Any) -> Any:
        try:
            async with asyncio.timeout(self.command_timeout_seconds):
                return await super().execute_command(*args, **options)  # type: ignore[no-untyped-call]
        except TimeoutError:  # our deadline (redis-py's own TimeoutError is not a builtin one)
            raise RedisTimeoutError(
                f"Redis did not answer {args[0]!s} within {self.command_timeout_seconds} s"
            ) from None


def connect(
    url: str,
    *,
    command_timeout_seconds: float = DEFAULT_COMMAND_TIMEOUT_SECONDS,
    max_connections: int | None = None,
) -> DeadlineRedis:
    """Return a client of ``url`` whose commands (and connects) give up after the deadline."""
    pool = ConnectionPool.from_url(
        url,
        max_connections=max_connections,
        socket_timeout=None,
        socket_connect_timeout=command_timeout_seconds,
    )
    client = DeadlineRedis.from_pool(pool)
    assert isinstance(client, DeadlineRedis)  # from_pool builds the class it is called on
    client.command_timeout_seconds = command_timeout_seconds
    return client
