"""``/healthz``, ``/readyz`` and ``/metrics``, with breaker and index state in ``/readyz``.

The shared :func:`ragline_common.health.health_router` answers only ok/failing per check; this
service also reports each circuit breaker's state and the vector tables. An open breaker does
not make the pod unready: every replica shares the upstream, so pulling them all from the
Service would turn clear 503s with ``Retry-After`` into connection errors.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

from fastapi import APIRouter, FastAPI
from sqlalchemy import text
from starlette.responses import JSONResponse, Response

from ragline_common.health import CHECK_TIMEOUT_SECONDS
from ragline_common.logs import get_logger
from ragline_common.metrics import metrics_response
from ragline_llm.metrics import LlmMetrics
from ragline_llm.state import LlmState

log = get_logger(__name__)
Check = Callable[[], Awaitable[Any]]


async def _run(name: str, check: Check) -> tuple[str, str]:
    try:
        await asyncio.wait_for(check(), timeout=CHECK_TIMEOUT_SECONDS)
    except Exception as exc:
        log.warning("readiness check failed", check=name, error=type(exc).__name__)
        return name, "failing"
    return name, "ok"


def _checks(state: LlmState) -> dict[str, Check]:
    async def database() -> None:
        async with state.engine.connect() as conn:
            await conn.execute(text("SELECT 1"))

    async def registry() -> None:
        state.registry.current()
        if not state.registry.loaded:
            raise RuntimeError("tenant registry not loaded")

    return {"database": database, "registry": registry}


def health_router(app: FastAPI, *, metrics: LlmMetrics) -> APIRouter:
    """The operational endpoints of ``app`` (its state exists only once the lifespan runs)."""
    router = APIRouter(tags=["operations"])

    @router.get("/healthz", summary="Liveness")
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @router.get(
        "/readyz",
        summary="Readiness: database and registry answer; breaker and index state",
        responses={503: {"description": "a dependency is failing"}},
    )
    async def readyz() -> JSONResponse:
        state: LlmState | None = getattr(app.state, "llm", None)
        if state is None:
            return JSONResponse({"status": "not ready", "checks": {"lifespan": "failing"}}, 503)
        checks = _checks(state)
        results = dict(await asyncio.gather(*(_run(n, c) for n, c in checks.items())))
        ready = all(result == "ok" for result in results.values())
        body = {
            "status": "ready" if ready else "not ready",
            "checks": results,
            "breakers": {b.name: b.state for b in state.breakers},
            "index": state.store.describe(),
        }
        return JSONResponse(body, status_code=200 if ready else 503)

    @router.get("/metrics", summary="Prometheus metrics", response_class=Response)
    async def prometheus() -> Response:
        return metrics_response(metrics.registry)

    return router
