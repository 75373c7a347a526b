"""Structured logging with structlog, and the correlation id every log line of a request carries.

The correlation id lives in a context variable (``structlog.contextvars``), so every log call made
while serving a request, however deep, carries it without passing it around.
"""

from __future__ import annotations

import logging
import re
import sys
import uuid
from typing import Any

import structlog

CORRELATION_HEADER = "x-request-id"
# Accept a caller's id only if it is short and plain: it is echoed into logs and headers.
_CORRELATION_PATTERN = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")


def configure_logging(*, level: str = "INFO", json: bool = True) -> None:
    """Route structlog and the standard library's logging to stderr in one format.

    Safe to call more than once (tests build many apps): the last call wins.
    """
    shared: list[Any] = [
        structlog.contextvars.merge_contextvars,
        structlog.processors.add_log_level,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
    ]
    renderer: Any = (
        structlog.processors.JSONRenderer()
        if json
        # Plain tracebacks: rich ones take seconds to render a deep SQLAlchemy chain.
        else structlog.dev.ConsoleRenderer(
            colors=False, exception_formatter=structlog.dev.plain_traceback
        )
    )
    exceptions: Any = (
        structlog.processors.format_exc_info if json else structlog.processors.StackInfoRenderer()
    )
    structlog.configure(
        processors=[*shared, exceptions, renderer],
        wrapper_class=structlog.make_filtering_bound_logger(logging.getLevelName(level)),
        logger_factory=structlog.PrintLoggerFactory(file=sys.stderr),
        cache_logger_on_first_use=False,
    )
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(
        structlog.stdlib.ProcessorFormatter(processors=[*shared, renderer], foreign_pre_chain=[])
    )
    root = logging.getLogger()
    root.handlers = [handler]
    root.setLevel(level)


def get_logger(name: str) -> structlog.typing.FilteringBoundLogger:
    """Return a structlog logger bound to ``name``."""
    logger: structlog.typing.FilteringBoundLogger = structlog.get_logger(name)
    return logger


def correlation_id_from(header_value: str | None) -> str:
    """Return the caller's correlation id when it is acceptable, else a new one."""
    if header_value and _CORRELATION_PATTERN.match(header_value):
        return header_value
    return uuid.uuid4().hex


def bind_correlation_id(correlation_id: str) -> None:
    """Bind ``correlation_id`` to every log line of the current context (request or task)."""
    structlog.contextvars.clear_contextvars()
    structlog.contextvars.bind_contextvars(correlation_id=correlation_id)


def current_correlation_id() -> str | None:
    """Return the correlation id bound to the current context, if any."""
    value = structlog.contextvars.get_contextvars().get("correlation_id")
    return value if isinstance(value, str) else None
