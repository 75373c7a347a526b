"""Embedding providers behind one protocol: an OpenAI-compatible endpoint, or the local hasher.

A vector table holds vectors of one :class:`EmbeddingSpec` only; the spec is recorded with the
table, so a query is always embedded the way the table it searches was filled.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from openai import AsyncOpenAI

from ragline_llm.breakers import UpstreamBreaker
from ragline_llm.metrics import LlmMetrics
from ragline_llm.retry import MalformedReplyError, RetryPolicy, call_upstream


@dataclass(frozen=True)
class EmbeddingSpec:
    """Which embedding fills a table: provider, model and dimensions."""

    provider: str
    model: str
    dimensions: int


class Embedder(Protocol):
    """Turns texts into vectors of ``spec.dimensions``."""

    spec: EmbeddingSpec

    async def embed(self, texts: Sequence[str]) -> list[list[float]]:
        """Return one vector per text, in order."""
        ...

    async def close(self) -> None:
        """Release connections."""
        ...


class OpenAIEmbedder:
    """Embeddings from an OpenAI-compatible ``/embeddings`` endpoint."""

    def __init__(self, client: AsyncOpenAI, *, spec: EmbeddingSpec, batch_size: int) -> None:
        self.client = client
        self.spec = spec
        self.batch_size = batch_size

    async def embed(self, texts: Sequence[str]) -> list[list[float]]:
        """Embed in batches of ``batch_size``; vectors of the wrong size are a malformed reply."""
        vectors: list[list[float]] = []
        for start in range(0, len(texts), self.batch_size):
            batch = list(texts[start : start + self.batch_size])
            response = await self.client.embeddings.create(
                model=self.spec.model,
                input=batch,
                dimensions=self.spec.dimensions,
                encoding_format="float",
            )
            data = sorted(response.data or [], key=lambda item: item.index)
            if len(data) != len(batch):
                raise MalformedReplyError(f"{len(data)} embeddings for {len(batch)} inputs")
            for item in data:
                if len(item.embedding) != self.spec.dimensions:
                    raise MalformedReplyError(
                        f"an embedding has {len(item.embedding)} dimensions, "
                        f"not {self.spec.dimensions}"
                    )
                vectors.append([float(value) for value in item.embedding])
        return vectors

    async def close(self) -> None:
        """Close the HTTP connections."""
        await self.client.close()


class GuardedEmbedder:
    """An embedder whose calls run under the ``embeddings`` breaker, with retries."""

    def __init__(
        self,
        inner: Embedder,
        *,
        breaker: UpstreamBreaker,
        policy: RetryPolicy,
        metrics: LlmMetrics | None = None,
    ) -> None:
        self.inner = inner
        self.spec = inner.spec
        self.breaker = breaker
        self.policy = policy
        self.metrics = metrics

    async def embed(self, texts: Sequence[str]) -> list[list[float]]:
        """Embed ``texts``; raises upstream problems (503 while the breaker is open)."""
        if not texts:
            return []

        async def operation() -> list[list[float]]:
            return await self.inner.embed(texts)

        return await call_upstream(
            operation, breaker=self.breaker, policy=self.policy, metrics=self.metrics
        )

    async def close(self) -> None:
        """Close the inner embedder."""
        await self.inner.close()
