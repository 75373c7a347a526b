"""Entry point: ``kopf run -m ragline_operator.main``. Importing registers every handler."""

from ragline_operator.handlers import eventstream, lifecycle, ragpipeline, tenantconfig

__all__ = ["eventstream", "lifecycle", "ragpipeline", "tenantconfig"]
