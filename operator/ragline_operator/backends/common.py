"""What the backends take and report, and how credentials are kept out of messages.

Nothing here does I/O, so the pure decision code (:mod:`ragline_operator.reconcile`) can import
these types without pulling broker clients in.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from enum import StrEnum
from urllib.parse import urlsplit, urlunsplit

REDACTED = "***"
# Secret values shorter than this are not scrubbed from text: they would match everywhere.
MIN_SCRUBBED_LENGTH = 4


class BackendError(Exception):
    """A backend refused or could not be reached; the message is safe to show (no credentials)."""


class StreamKind(StrEnum):
    """The broker behind an EventStream (mirrors the spec's BackendType)."""

    KAFKA = "Kafka"
    REDIS = "Redis"


@dataclass(frozen=True)
class StreamTarget:
    """A topic or stream, where it lives and how it should look.

    ``address`` is the Secret's value (bootstrap servers or a Redis URL) and may hold a password:
    it never appears in a message, only :attr:`where` does. A consumer group without a position
    gets one at the stream's beginning (a backlog waiting for its first consumer counts as lag).
    """

    kind: StreamKind
    address: str = field(repr=False)
    name: str
    partitions: int = 1
    replication_factor: int = 1
    retention_ms: int | None = None
    groups: tuple[str, ...] = ()

    @property
    def where(self) -> str:
        """The address with any password replaced, for messages."""
        return redact_url(self.address)

    @property
    def noun(self) -> str:
        """``topic`` or ``stream``."""
        return "topic" if self.kind is StreamKind.KAFKA else "stream"

    def cache_key(self) -> tuple[object, ...]:
        """A key identifying this exact desired state (the address only as a digest)."""
        return (
            self.kind,
            digest(self.address),
            self.name,
            self.partitions,
            self.replication_factor,
            self.retention_ms,
            self.groups,
        )


@dataclass(frozen=True)
class StreamReport:
    """What ensuring a topic or stream found and did."""

    reachable: bool
    ready: bool
    reason: str
    message: str
    created: bool = False
    partitions_before: int | None = None
    groups_created: tuple[str, ...] = ()

    def settled(self) -> StreamReport:
        """The same state without the one-off facts (what a cached answer should repeat)."""
        return StreamReport(self.reachable, self.ready, self.reason, self.message)


@dataclass(frozen=True)
class ProbeResult:
    """Whether a dependency answered as a workload needs it to."""

    ok: bool
    reason: str
    message: str


def digest(value: str) -> str:
    """A short SHA-256 of a secret value, for cache keys and change detection."""
    return hashlib.sha256(value.encode()).hexdigest()[:16]


def redact_url(address: str) -> str:
    """``scheme://user:***@host/...`` for URLs with a password; other text unchanged."""
    parts = [_redact_one(piece) for piece in address.split(",")]
    return ",".join(parts)


def _redact_one(address: str) -> str:
    if "://" not in address:
        return address
    try:
        split = urlsplit(address)
    except ValueError:
        return REDACTED
    if split.password is None:
        return address
    user = split.username or ""
    host = split.netloc.rpartition("@")[2]
    credentials = f"{user}:{REDACTED}" if user else REDACTED
    return urlunsplit((split.scheme, f"{credentials}@{host}", split.path, split.query, ""))


def scrub(text: str, secrets: Iterable[str | None]) -> str:
    """``text`` with every secret value (and any URL password) replaced by ``***``."""
    for secret in secrets:
        if secret and len(secret) >= MIN_SCRUBBED_LENGTH:
            text = text.replace(secret, REDACTED)
            password = urlsplit(secret).password if "://" in secret else None
            if password and len(password) >= MIN_SCRUBBED_LENGTH:
                text = text.replace(password, REDACTED)
    # Whatever URL the client library echoed back: drop its userinfo password too.
    return re.sub(r"(://[^:/@\s]*:)[^@\s]+@", rf"\g<1>{REDACTED}@", text)


def describe(exc: BaseException) -> str:
    """``Type: message`` of an exception, or just the type when it says nothing."""
    name = type(exc).__name__
    text = str(exc).strip()
    if not text:
        return name
    return text if text.startswith(name) else f"{name}: {text}"
