"""Building providers from settings (in the lifespan, never at import)."""

from __future__ import annotations

from ragline_llm.breakers import UpstreamBreaker
from ragline_llm.metrics import LlmMetrics
from ragline_llm.providers.chat import OpenAIChatModel, openai_client
from ragline_llm.providers.embeddings import (
    Embedder,
    EmbeddingSpec,
    GuardedEmbedder,
    OpenAIEmbedder,
)
from ragline_llm.providers.hashing import HashingEmbedder
from ragline_llm.retry import RetryPolicy
from ragline_llm.settings import LOCAL_HASHING_MODEL, EmbeddingProvider, LlmSettings


def retry_policy(settings: LlmSettings) -> RetryPolicy:
    """The retry policy of every upstream."""
    return RetryPolicy(
        attempts=settings.retry_attempts,
        base_delay_seconds=settings.retry_base_delay_seconds,
        max_delay_seconds=settings.retry_max_delay_seconds,
    )


def breaker(name: str, settings: LlmSettings, metrics: LlmMetrics | None) -> UpstreamBreaker:
    """A breaker configured from settings."""
    return UpstreamBreaker(
        name,
        fail_max=settings.breaker_fail_max,
        reset_seconds=settings.breaker_reset_seconds,
        metrics=metrics,
    )


def chat_model(settings: LlmSettings) -> OpenAIChatModel:
    """The chat model of ``settings``."""
    client = openai_client(
        base_url=settings.base_url,
        api_key=settings.api_key.get_secret_value(),
        connect_timeout=settings.connect_timeout_seconds,
        read_timeout=settings.read_timeout_seconds,
    )
    return OpenAIChatModel(client, model=settings.model)


def configured_spec(settings: LlmSettings) -> EmbeddingSpec:
    """The embedding the settings ask for."""
    return EmbeddingSpec(
        provider=settings.embedding_provider.value,
        model=settings.embedding_model,
        dimensions=settings.embedding_dimensions,
    )


def embedder(
    spec: EmbeddingSpec,
    settings: LlmSettings,
    *,
    guard: UpstreamBreaker,
    metrics: LlmMetrics | None,
) -> Embedder:
    """An embedder for ``spec`` (which may be an older table's), guarded by ``guard``.

    Raises ``ValueError`` for a local model this build does not have.
    """
    inner: Embedder
    if spec.provider == EmbeddingProvider.LOCAL.value:
        if spec.model != LOCAL_HASHING_MODEL:
            raise ValueError(
                f"local embedding model {spec.model!r} is not available offline; the local "
                f"provider implements {LOCAL_HASHING_MODEL!r} (use OpenAICompatible for others)"
            )
        inner = HashingEmbedder(spec)
    else:
        client = openai_client(
            base_url=settings.embeddings_url,
            api_key=settings.embeddings_key.get_secret_value(),
            connect_timeout=settings.connect_timeout_seconds,
            read_timeout=settings.read_timeout_seconds,
        )
        inner = OpenAIEmbedder(client, spec=spec, batch_size=settings.embedding_batch_size)
    return GuardedEmbedder(inner, breaker=guard, policy=retry_policy(settings), metrics=metrics)
