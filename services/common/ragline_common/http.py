"""ASGI middleware every RAGline HTTP service mounts: request context and body size limit.

Both are plain ASGI (no ``BaseHTTPMiddleware``), which costs a few microseconds per request
instead of a task and a memory stream.
"""

from __future__ import annotations

import time

from fastapi import HTTPException
from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ragline_common.errors import PayloadTooLargeError, RaglineError, problem_response
from ragline_common.logs import (
    CORRELATION_HEADER,
    bind_correlation_id,
    correlation_id_from,
    get_logger,
)
from ragline_common.metrics import HttpMetrics

log = get_logger(__name__)
_CORRELATION_HEADER_BYTES = CORRELATION_HEADER.encode()
UNMATCHED_ROUTE = "unmatched"


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope.get("headers", ()):
        if key == name:
            decoded: str = value.decode("latin-1")
            return decoded
    return None


def route_template(scope: Scope) -> str:
    """Return the matched route's template (bounded label), or ``unmatched``."""
    route = scope.get("route")
    path = getattr(route, "path", None)
    return path if isinstance(path, str) else UNMATCHED_ROUTE


class RequestContextMiddleware:
    """Correlation id, access log, request metrics, and a bare 500 problem for crashes.

    The correlation id comes from ``X-Request-ID`` when the caller sent an acceptable one, is bound
    to every log line of the request and echoed in the response. An unhandled exception is logged
    with its traceback and answered with a problem that says nothing about it.
    """

    def __init__(
        self, app: ASGIApp, *, metrics: HttpMetrics | None = None, access_log: bool = True
    ) -> None:
        self.app = app
        self.metrics = metrics
        self.access_log = access_log

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        correlation_id = correlation_id_from(_header(scope, _CORRELATION_HEADER_BYTES))
        bind_correlation_id(correlation_id)
        started = time.perf_counter()
        status = 500
        response_started = False

        async def send_with_context(message: Message) -> None:
            nonlocal status, response_started
            if message["type"] == "http.response.start":
                response_started = True
                status = message["status"]
                MutableHeaders(scope=message).append(CORRELATION_HEADER, correlation_id)
            await send(message)

        try:
            await self.app(scope, receive, send_with_context)
        except Exception:
            log.exception("unhandled error", path=scope.get("path"))
            if not response_started:
                await problem_response(RaglineError())(scope, receive, send_with_context)
        finally:
            self._record(scope, status, time.perf_counter() - started)

    def _record(self, scope: Scope, status: int, seconds: float) -> None:
        route = route_template(scope)
        method: str = scope.get("method", "")
        if self.metrics is not None:
            self.metrics.observe(method=method, route=route, status=status, seconds=seconds)
        if self.access_log:
            log.info(
                "request",
                method=method,
                route=route,
                status=status,
                duration_ms=round(seconds * 1000, 2),
            )


class BodySizeLimitMiddleware:
    """Refuse request bodies over ``max_bytes`` with a 413 problem.

    A declared ``Content-Length`` over the limit is refused before the app runs. A chunked body is
    counted as it arrives; crossing the limit raises an ``HTTPException(413)``, which FastAPI
    re-raises from its body reader and the problem handlers render.
    """

    def __init__(self, app: ASGIApp, *, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = _header(scope, b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.max_bytes:
            await problem_response(self._error(), instance=scope.get("path"))(scope, receive, send)
            return
        received = 0

        async def counting_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_bytes:
                    raise HTTPException(status_code=413, detail=self._error().detail)
            return message

        await self.app(scope, counting_receive, send)

    def _error(self) -> PayloadTooLargeError:
        return PayloadTooLargeError(f"request body exceeds {self.max_bytes} bytes")
