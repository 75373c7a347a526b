"""Starts and stops the lag scaler: one operator-wide loop over Kopf's EventStream index.

Like the resync loop it needs no finalizer (a Kopf daemon per EventStream would put one on every
object). ``RAGLINE_OPERATOR_METRICS_PORT`` serves the scaler's metrics (``ragline_consumer_lag``,
``ragline_consumer_desired_replicas``) on that port.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Iterable, Mapping
from typing import Any

import kopf
from prometheus_client import start_http_server
from pydantic_settings import BaseSettings, SettingsConfigDict

from ragline_operator.handlers.common import STATE_KEY, operator_state
from ragline_operator.handlers.resync import Bodies
from ragline_operator.k8s.client import KubeClient
from ragline_operator.models import BackendType
from ragline_operator.scaling.engine import KEDA_GROUP_VERSION
from ragline_operator.scaling.lag import KafkaLagReader, LagReader, RedisLagReader
from ragline_operator.scaling.scaler import Scaler

SCALER_TASK_KEY = "ragline_scaler"
READERS_KEY = "ragline_scaler_readers"
# The loop wakes this often; each EventStream is polled at its own autoscaling.pollInterval.
TICK_SECONDS = 0.5
log = logging.getLogger(__name__)


class ScalerSettings(BaseSettings):
    """The scaler's own knobs (the rest is per EventStream, in its spec)."""

    model_config = SettingsConfigDict(env_prefix="RAGLINE_OPERATOR_", extra="ignore", frozen=True)

    metrics_port: int | None = None
    metrics_address: str = "127.0.0.1"


class Readers:
    """Lag readers by backend and address, opened on first use and reused."""

    def __init__(self) -> None:
        self._open: dict[tuple[BackendType, str], LagReader] = {}

    async def get(self, backend: BackendType, address: str) -> LagReader:
        """A reader for ``address`` (a Redis URL or Kafka bootstrap servers)."""
        key = (backend, address)
        if key not in self._open:
            if backend is BackendType.KAFKA:
                self._open[key] = await KafkaLagReader.connect(address)
            else:
                self._open[key] = RedisLagReader.from_url(address)
        return self._open[key]

    async def close(self) -> None:
        """Close every reader."""
        for reader in self._open.values():
            with contextlib.suppress(Exception):
                await reader.close()
        self._open.clear()


def _all(bodies: Bodies) -> Iterable[Mapping[str, Any]]:
    for store in list(bodies.values()):
        yield from list(store)


async def scale_forever(scaler: Scaler, bodies: Bodies) -> None:
    """Tick until cancelled; one stream's failure never stops the loop."""
    while True:
        try:
            await scaler.tick(_all(bodies), now=time.monotonic())
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("lag scaler tick failed; retrying")
        await asyncio.sleep(TICK_SECONDS)


@kopf.on.startup()
async def scaler_startup(
    *, memo: kopf.Memo, eventstream_bodies: Bodies | None = None, **_: Any
) -> None:
    """Start the scaler loop (after the operator's state exists)."""
    if eventstream_bodies is None:
        raise kopf.PermanentError("the EventStream index is not registered; import main")
    settings = ScalerSettings()
    if settings.metrics_port is not None:
        start_http_server(settings.metrics_port, addr=settings.metrics_address)
    readers = Readers()

    def client() -> KubeClient:
        return operator_state(memo).kube.client

    if STATE_KEY not in memo:
        raise kopf.TemporaryError("the operator state is not ready yet", delay=1)

    async def keda_served(now: float) -> bool:
        state = operator_state(memo)
        return await state.discovery.serves(state.kube.client, KEDA_GROUP_VERSION, now=now)

    scaler = Scaler(client=client, reader_for=readers.get, keda_served=keda_served)
    operator_state(memo).scaler = scaler
    memo[READERS_KEY] = readers
    memo[SCALER_TASK_KEY] = asyncio.create_task(scale_forever(scaler, eventstream_bodies))


@kopf.on.cleanup()
async def scaler_cleanup(*, memo: kopf.Memo, **_: Any) -> None:
    """Stop the loop and close the readers."""
    task = memo.get(SCALER_TASK_KEY)
    if isinstance(task, asyncio.Task):
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
    readers = memo.get(READERS_KEY)
    if isinstance(readers, Readers):
        await readers.close()
