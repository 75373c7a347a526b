"""The local infrastructure manager: real PostgreSQL, Valkey, Kafka and Kubernetes on loopback.

Each part installs itself (pinned, cached, with progress), starts on free ports with its data in
a stack directory, reports whether it is healthy, and is reused when a healthy copy already runs
there.
``make up``, the ``ragline`` CLI and the pytest fixtures all go through :class:`Stack`.
"""

from ragline_dev.infra.base import Part, PartState
from ragline_dev.infra.stack import Stack, default_parts

__all__ = ["Part", "PartState", "Stack", "default_parts"]
