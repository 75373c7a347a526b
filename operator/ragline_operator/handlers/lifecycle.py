"""Operator start, login and exit: settings, the shared API client, the resync loop."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from datetime import timedelta
from typing import Any

import kopf

from ragline_operator.backends.cached import CachedBackends
from ragline_operator.controllers.base import OperatorState
from ragline_operator.controllers.cleanup import Cleaner, sweep_forever
from ragline_operator.controllers.eventstream import reconcile_eventstream
from ragline_operator.controllers.ragpipeline import reconcile_ragpipeline
from ragline_operator.controllers.tenantconfig import reconcile_tenantconfig
from ragline_operator.handlers.common import STATE_KEY, operator_state
from ragline_operator.handlers.resync import Bodies, Watched, resync_forever
from ragline_operator.handlers.tenantconfig import TenantIndex
from ragline_operator.k8s.connection import KubeHolder, find_credentials
from ragline_operator.models import EVENTSTREAM, RAGPIPELINE, TENANTCONFIG
from ragline_operator.settings import OperatorConfig, configure_kopf

RESYNC_TASK_KEY = "ragline_resync"
CLEANUP_TASK_KEY = "ragline_cleanup"


@kopf.on.startup()
async def operator_startup(
    *,
    settings: kopf.OperatorSettings,
    memo: kopf.Memo,
    logger: kopf.Logger,
    tenantconfig_index: TenantIndex | None = None,
    tenantconfig_bodies: Bodies | None = None,
    eventstream_bodies: Bodies | None = None,
    ragpipeline_bodies: Bodies | None = None,
    **_: Any,
) -> None:
    """Read ``RAGLINE_OPERATOR_*``, configure Kopf, prepare the state, start the resync loop."""
    config = OperatorConfig()
    configure_kopf(settings, config)
    # One line per request is too much at INFO; failures surface as conditions and warnings.
    logging.getLogger("httpx").setLevel(logging.WARNING)
    kube = KubeHolder(
        timeout_seconds=config.request_timeout_seconds, field_manager=config.field_manager
    )
    backends = CachedBackends(
        timeout=config.probe_timeout_seconds,
        ttl=config.probe_ttl_seconds,
        concurrency=config.max_concurrent_probes,
    )
    state = OperatorState(config=config, kube=kube, backends=backends)
    memo[STATE_KEY] = state
    if (
        tenantconfig_index is None
        or tenantconfig_bodies is None
        or eventstream_bodies is None
        or ragpipeline_bodies is None
    ):
        raise kopf.PermanentError("the operator's indexes are not registered; import main")
    watched = [
        Watched(TENANTCONFIG, reconcile_tenantconfig, tenantconfig_bodies),
        Watched(EVENTSTREAM, reconcile_eventstream, eventstream_bodies),
        Watched(RAGPIPELINE, reconcile_ragpipeline, ragpipeline_bodies),
    ]
    memo[RESYNC_TASK_KEY] = asyncio.create_task(
        resync_forever(state, watched, tenantconfig_index), name="ragline-resync"
    )
    cleaner = Cleaner(
        kube=kube,
        backends=backends,
        ledger=state.ledger,
        give_up_after=timedelta(seconds=config.cleanup_give_up_seconds),
    )
    memo[CLEANUP_TASK_KEY] = asyncio.create_task(
        sweep_forever(cleaner, period=config.resync_seconds), name="ragline-cleanup"
    )
    logger.info("RAGline operator starting (image %s)", config.image)


@kopf.on.login()
async def operator_login(
    *, settings: kopf.OperatorSettings, memo: kopf.Memo, **kwargs: Any
) -> kopf.ConnectionInfo:
    """One set of credentials for Kopf and for the operator's own client."""
    info = find_credentials(settings, **kwargs)
    await operator_state(memo).kube.connect(info, settings)
    return info


@kopf.on.cleanup()
async def operator_cleanup(*, memo: kopf.Memo, **_: Any) -> None:
    """Stop the resync and cleanup loops, close the API client's connections."""
    for key in (RESYNC_TASK_KEY, CLEANUP_TASK_KEY):
        task = memo.get(key)
        if isinstance(task, asyncio.Task):
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
    if isinstance(memo.get(STATE_KEY), OperatorState):
        await operator_state(memo).kube.aclose()
