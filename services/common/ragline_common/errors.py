"""One error hierarchy, rendered as RFC 9457 ``application/problem+json`` by one set of handlers.

Services raise :class:`RaglineError` subclasses; nothing else decides status codes or bodies. A
problem names the offending field in ``errors[].field`` (with its ``location``: body, query, path,
header) and carries the request's correlation id. It never carries a stack trace, the rejected
input or a secret: validation errors are reported without the value that failed.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel, Field
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import Response

from ragline_common.logs import current_correlation_id

PROBLEM_MEDIA_TYPE = "application/problem+json"
PROBLEM_TYPE_BASE = "https://ragline.dev/problems/"


@dataclass(frozen=True)
class FieldProblem:
    """What is wrong with one input field."""

    field: str
    message: str
    location: str = "body"
    type: str = "invalid"


class RaglineError(Exception):
    """Base of every error a RAGline service turns into a problem response."""

    # Class attributes, overridden per subclass (and per instance for pass-through HTTP errors).
    status: int = 500
    title: str = "Internal server error"
    slug: str = "internal"

    def __init__(
        self,
        detail: str | None = None,
        *,
        errors: Sequence[FieldProblem] = (),
        headers: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(detail or self.title)
        self.detail = detail or self.title
        self.errors = list(errors)
        self.headers = dict(headers or {})


class BadRequestError(RaglineError):
    """The request cannot be understood."""

    status, title, slug = 400, "Bad request", "bad-request"


class UnauthorizedError(RaglineError):
    """No acceptable credentials: missing, malformed, expired or wrongly signed token."""

    status, title, slug = 401, "Unauthorized", "unauthorized"

    def __init__(self, detail: str | None = None) -> None:
        super().__init__(
            detail,
            headers={"WWW-Authenticate": 'Bearer error="invalid_token"'},
        )


class ForbiddenError(RaglineError):
    """Authenticated, but not allowed: wrong role, or a suspended tenant."""

    status, title, slug = 403, "Forbidden", "forbidden"


class NotFoundError(RaglineError):
    """No such resource in the caller's tenant (another tenant's resource is not found either)."""

    status, title, slug = 404, "Not found", "not-found"


class ConflictError(RaglineError):
    """The request conflicts with the resource's current state."""

    status, title, slug = 409, "Conflict", "conflict"


class PayloadTooLargeError(RaglineError):
    """The body exceeds the service's limit."""

    status, title, slug = 413, "Payload too large", "payload-too-large"


class UnprocessableError(RaglineError):
    """Well-formed but invalid input; ``errors`` names the fields."""

    status, title, slug = 422, "Unprocessable content", "validation"


class RateLimitedError(RaglineError):
    """The tenant is over its request rate; ``Retry-After`` says when to try again."""

    status, title, slug = 429, "Too many requests", "rate-limited"

    def __init__(self, *, retry_after_seconds: int) -> None:
        super().__init__(
            f"rate limit exceeded; retry in {retry_after_seconds}s",
            headers={"Retry-After": str(retry_after_seconds)},
        )
        self.retry_after_seconds = retry_after_seconds


class ServiceUnavailableError(RaglineError):
    """A dependency is unreachable."""

    status, title, slug = 503, "Service unavailable", "unavailable"


_BY_STATUS: dict[int, type[RaglineError]] = {
    cls.status: cls
    for cls in (
        BadRequestError,
        ForbiddenError,
        NotFoundError,
        ConflictError,
        PayloadTooLargeError,
        UnprocessableError,
    )
}


def problem_body(error: RaglineError, *, instance: str | None = None) -> dict[str, Any]:
    """Return the problem document of ``error``."""
    body: dict[str, Any] = {
        "type": PROBLEM_TYPE_BASE + error.slug,
        "title": error.title,
        "status": error.status,
        "detail": error.detail,
    }
    if instance is not None:
        body["instance"] = instance
    correlation_id = current_correlation_id()
    if correlation_id is not None:
        body["correlation_id"] = correlation_id
    if error.errors:
        body["errors"] = [asdict(problem) for problem in error.errors]
    return body


def problem_response(error: RaglineError, *, instance: str | None = None) -> Response:
    """Render ``error`` as an ``application/problem+json`` response."""
    return Response(
        content=json.dumps(problem_body(error, instance=instance)),
        status_code=error.status,
        headers=error.headers,
        media_type=PROBLEM_MEDIA_TYPE,
    )


def field_name(loc: Sequence[int | str]) -> str:
    """Render a pydantic location (after its first element) as ``lines[0].quantity``."""
    name = ""
    for part in loc:
        if isinstance(part, int):
            name += f"[{part}]"
        else:
            name += f".{part}" if name else str(part)
    return name


def validation_problems(errors: Sequence[Mapping[str, Any]]) -> list[FieldProblem]:
    """Turn FastAPI/pydantic validation errors into field problems, leaving out the input."""
    problems = []
    for error in errors:
        loc = list(error.get("loc", ()))
        location = str(loc[0]) if loc else "body"
        rest = loc[1:] if loc else []
        problems.append(
            FieldProblem(
                field=field_name(rest) or location,
                message=str(error.get("msg", "invalid")),
                location=location,
                type=str(error.get("type", "invalid")),
            )
        )
    return problems


async def _ragline_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, RaglineError)
    return problem_response(exc, instance=request.url.path)


async def _validation_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, RequestValidationError)
    problems = validation_problems(exc.errors())
    fields = ", ".join(sorted({p.field for p in problems}))
    error = UnprocessableError(f"invalid input: {fields}", errors=problems)
    return problem_response(error, instance=request.url.path)


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, StarletteHTTPException)
    cls = _BY_STATUS.get(exc.status_code)
    if exc.status_code == 401:
        error: RaglineError = UnauthorizedError(str(exc.detail))
    elif cls is not None:
        error = cls(str(exc.detail))
    else:
        # An HTTPException with another status (405, ...) keeps its status and headers.
        error = RaglineError(str(exc.detail))
        error.status, error.title, error.slug = exc.status_code, str(exc.detail), "http-error"
    error.headers.update(exc.headers or {})
    return problem_response(error, instance=request.url.path)


def install_problem_handlers(app: FastAPI) -> None:
    """Map every handled error of ``app`` to a problem response, and document the problem schema
    (routes refer to it with :func:`problem_responses`).

    Unhandled exceptions are turned into a bare 500 problem by the request-context middleware
    (:mod:`ragline_common.http`), which also logs them with their traceback.
    """
    app.add_exception_handler(RaglineError, _ragline_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    build_openapi = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            document = build_openapi()
            schemas = document.setdefault("components", {}).setdefault("schemas", {})
            defs = Problem.model_json_schema(ref_template="#/components/schemas/{model}")
            schemas.update(defs.pop("$defs", {}))
            schemas["Problem"] = defs
            app.openapi_schema = document
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]


class ProblemField(BaseModel):
    """One offending input field."""

    field: str = Field(description="e.g. lines[0].quantity, or a header's name")
    message: str
    location: str = Field(description="body, query, path or header")
    type: str


class Problem(BaseModel):
    """An RFC 9457 problem document (``application/problem+json``)."""

    type: str
    title: str
    status: int
    detail: str
    instance: str | None = None
    correlation_id: str | None = None
    errors: list[ProblemField] | None = None


PROBLEM_REF = {"$ref": "#/components/schemas/Problem"}


def problem_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """Return OpenAPI ``responses`` entries declaring problem bodies for ``statuses``."""
    return {
        status: {
            "description": _describe(status),
            "content": {PROBLEM_MEDIA_TYPE: {"schema": PROBLEM_REF}},
        }
        for status in statuses
    }


def _describe(status: int) -> str:
    classes: tuple[type[RaglineError], ...] = (
        *_BY_STATUS.values(),
        UnauthorizedError,
        RateLimitedError,
        ServiceUnavailableError,
    )
    for cls in classes:
        if cls.status == status:
            return cls.title
    return "Problem"
