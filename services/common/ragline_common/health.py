"""``/healthz`` (the process is alive), ``/readyz`` (its dependencies answer) and ``/metrics``."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from fastapi import APIRouter
from prometheus_client import CollectorRegistry
from starlette.responses import JSONResponse, Response

from ragline_common.logs import get_logger
from ragline_common.metrics import metrics_response

# A readiness probe that hangs is worse than one that fails: Kubernetes probes time out at ~1 s.
CHECK_TIMEOUT_SECONDS = 2.0
ReadinessCheck = Callable[[], Awaitable[Any]]
log = get_logger(__name__)


async def _run(name: str, check: ReadinessCheck) -> tuple[str, str]:
    try:
        await asyncio.wait_for(check(), timeout=CHECK_TIMEOUT_SECONDS)
    except Exception as exc:
        # The probe reports which dependency failed, not how: details go to the log only.
        log.warning("readiness check failed", check=name, error=type(exc).__name__)
        return name, "failing"
    return name, "ok"


def health_router(
    *,
    checks: Callable[[], Mapping[str, ReadinessCheck]],
    registry: Callable[[], CollectorRegistry],
) -> APIRouter:
    """Return the router of the three operational endpoints.

    ``checks`` and ``registry`` are called per request, because the app's dependencies exist only
    once its lifespan has started.
    """
    router = APIRouter(tags=["operations"])

    @router.get("/healthz", summary="Liveness")
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @router.get(
        "/readyz",
        summary="Readiness: every dependency answers",
        responses={503: {"description": "a dependency is failing"}},
    )
    async def readyz() -> JSONResponse:
        results = dict(await asyncio.gather(*(_run(n, c) for n, c in checks().items())))
        ready = all(result == "ok" for result in results.values())
        return JSONResponse(
            {"status": "ready" if ready else "not ready", "checks": results},
            status_code=200 if ready else 503,
        )

    @router.get("/metrics", summary="Prometheus metrics", response_class=Response)
    async def metrics() -> Response:
        return metrics_response(registry())

    return router
