"""API errors, translated from HTTP responses into a small hierarchy the handlers understand."""

from __future__ import annotations

from typing import Any

import httpx

# The API server's wording when refusing to create anything in a namespace being deleted.
TERMINATING = "because it is being terminated"


class ApiError(Exception):
    """The API server refused or failed a request."""

    retryable = False

    def __init__(self, status: int, reason: str, message: str, *, verb: str, path: str) -> None:
        super().__init__(f"{verb} {path}: {status} {reason}: {message}")
        self.status = status
        self.reason = reason
        self.message = message


class NotFoundError(ApiError):
    """404: the object (or its namespace or API) does not exist."""


class ConflictError(ApiError):
    """409: a stale resourceVersion or an ownership conflict; retry with fresh state."""

    retryable = True


class InvalidError(ApiError):
    """422: the object failed validation; retrying the same object will fail again."""


class ForbiddenError(ApiError):
    """401/403: RBAC does not allow it (fixable by an admin, so retried slowly)."""

    retryable = True


class NamespaceTerminatingError(ForbiddenError):
    """403 because the namespace is being deleted: whatever is in it is going away too."""

    retryable = False


class UnavailableError(ApiError):
    """429, 5xx or a network failure: transient."""

    retryable = True


def _details(response: httpx.Response) -> tuple[str, str]:
    try:
        body: Any = response.json()
    except ValueError:
        return response.reason_phrase, response.text[:500]
    if isinstance(body, dict):
        return str(body.get("reason") or response.reason_phrase), str(body.get("message") or "")
    return response.reason_phrase, str(body)[:500]


def raise_for_status(response: httpx.Response) -> None:
    """Raise the :class:`ApiError` matching a failed response."""
    if response.is_success:
        return
    status = response.status_code
    reason, message = _details(response)
    kind: type[ApiError]
    if status == httpx.codes.NOT_FOUND:
        kind = NotFoundError
    elif status == httpx.codes.CONFLICT:
        kind = ConflictError
    elif status == httpx.codes.UNPROCESSABLE_ENTITY:
        kind = InvalidError
    elif status == httpx.codes.FORBIDDEN and TERMINATING in message:
        kind = NamespaceTerminatingError
    elif status in (httpx.codes.UNAUTHORIZED, httpx.codes.FORBIDDEN):
        kind = ForbiddenError
    elif status == httpx.codes.TOO_MANY_REQUESTS or status >= httpx.codes.INTERNAL_SERVER_ERROR:
        kind = UnavailableError
    else:
        kind = ApiError
    raise kind(
        status, reason, message, verb=response.request.method, path=response.request.url.path
    )
