"""What the notifier's lifespan builds: the stream, the hub, the verifier."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

from ragline_common.auth import TokenVerifier
from ragline_common.registry_store import RegistryStore
from ragline_notifier.consumer import Consumer
from ragline_notifier.hub import Hub
from ragline_notifier.metrics import NotifierMetrics
from ragline_notifier.settings import NotifierSettings
from ragline_notifier.sources.base import StreamSource


@dataclass(frozen=True)
class NotifierState:
    """The running notifier's dependencies; lives in ``app.state.notifier``."""

    settings: NotifierSettings
    metrics: NotifierMetrics
    hub: Hub
    source: StreamSource
    consumer: Consumer
    registry: RegistryStore
    verifier: TokenVerifier
    replay_slots: asyncio.Semaphore
