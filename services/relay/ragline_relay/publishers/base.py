"""What a broker client must do for the relay: publish a batch and say what the broker accepted."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from ragline_relay.messages import Message


class BrokerError(Exception):
    """The batch as a whole failed (broker unreachable, timed out, refusing writes).

    Nothing of the batch is marked published; the relay backs off and tries again. Some of its
    messages may have reached the stream: they are published again, and consumers de-duplicate.
    """


class HeldBackError(Exception):
    """Not sent: the broker refused an earlier event of the same aggregate in this batch.

    Sending it would overtake that event, which is retried later; it stays pending, untouched,
    and the claim holds it back until the earlier event is published or dead-lettered.
    """


class Publisher(Protocol):
    """A broker client; built in the lifespan, one per relay process."""

    backend: str

    async def publish(self, messages: Sequence[Message]) -> list[BaseException | None]:
        """Publish ``messages`` in order and wait for the broker's acknowledgement.

        Returns one entry per message: None once the broker acknowledged it, the error with which
        the broker refused that message alone (it is retried later, then dead-lettered), or
        :class:`HeldBackError` for a message not sent behind such a refusal. Raises
        :class:`BrokerError` when the batch failed as a whole.
        """
        ...

    async def ping(self) -> None:
        """Raise unless the broker answers (readiness)."""
        ...

    async def reset(self) -> None:
        """Drop connections after a failed batch, so the next one starts afresh."""
        ...

    async def close(self) -> None:
        """Release every connection."""
        ...
