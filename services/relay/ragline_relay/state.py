"""What the relay's lifespan builds: the pool, the broker client, the loops, the verifier."""

from __future__ import annotations

from dataclasses import dataclass

import asyncpg

from ragline_common.auth import TokenVerifier
from ragline_common.registry_store import RegistryStore
from ragline_relay.metrics import RelayMetrics
from ragline_relay.publishers.base import Publisher
from ragline_relay.relay import Relay
from ragline_relay.settings import RelaySettings


@dataclass(frozen=True)
class RelayState:
    """The running relay's dependencies; lives in ``app.state.relay``."""

    settings: RelaySettings
    metrics: RelayMetrics
    pool: asyncpg.Pool
    publisher: Publisher
    relay: Relay
    registry: RegistryStore
    verifier: TokenVerifier
