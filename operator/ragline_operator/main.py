"""Entry point: ``kopf run -m ragline_operator.main``. Importing registers every handler."""

from ragline_operator.handlers import (
    children,
    eventstream,
    lifecycle,
    ragpipeline,
    references,
    scaling,
    tenantconfig,
)

__all__ = [
    "children",
    "eventstream",
    "lifecycle",
    "ragpipeline",
    "references",
    "scaling",
    "tenantconfig",
]
