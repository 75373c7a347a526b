"""Settings of the LLM service, from ``RAGLINE_LLM_*`` environment variables.

The operator sets a subset of these on the chat Deployment and the ingestion Job (see
``ragline_operator.resources.env``); every variable it sets is a field here. The rest have
defaults that suit a single local process.
"""

from __future__ import annotations

import hashlib
import json
from enum import StrEnum
from typing import Any

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import SettingsConfigDict

from ragline_common.settings import ServiceSettings, TenantAuthSettings

# A chat request carries the conversation so far; a long one is still far below this.
DEFAULT_MAX_BODY_BYTES = 512 * 1024
VECTOR_TABLE_PATTERN = r"^[a-z][a-z0-9_]{0,62}$"
LOCAL_HASHING_MODEL = "ragline-hashing-v1"


class EmbeddingProvider(StrEnum):
    """Where embeddings come from (the values the RagPipeline's ``embedding.provider`` takes)."""

    OPENAI_COMPATIBLE = "OpenAICompatible"
    LOCAL = "Local"


class IndexType(StrEnum):
    """pgvector index types."""

    HNSW = "hnsw"
    IVFFLAT = "ivfflat"


def default_vector_table(provider: str, model: str, dimensions: int) -> str:
    """The table name the operator derives from the embedding (same digest), used when unset."""
    payload = json.dumps([provider, model, dimensions], sort_keys=True).encode()
    return f"rag_chunks_{hashlib.sha256(payload).hexdigest()[:8]}"


class LlmSettings(ServiceSettings, TenantAuthSettings):
    """Everything ``create_app`` and the ingestion command need."""

    model_config = SettingsConfigDict(env_prefix="RAGLINE_LLM_", extra="ignore", frozen=True)

    service_name: str = "ragline-llm"
    port: int = Field(default=8002, ge=1, le=65535, description="HTTP port of `serve`")
    host: str = Field(default="127.0.0.1", description="interface `serve` binds")
    database_url: str = Field(description="PostgreSQL DSN with pgvector")
    redis_url: str | None = Field(default=None, description="accepted for the operator; unused")
    db_pool_size: int = Field(default=10, ge=1, le=200)
    db_max_overflow: int = Field(default=20, ge=0, le=500)
    db_role: str | None = Field(
        default="ragline_app",
        description=(
            "role every request's transaction switches to (SET LOCAL ROLE) so row-level security "
            "applies; the DSN's user must be granted it (the migrations do). Empty: stay the "
            "DSN's user"
        ),
    )
    migrate_on_start: bool = Field(
        default=True, description="bring the LLM tables up to date at startup (advisory-locked)"
    )

    # --- chat model -----------------------------------------------------------------------------
    base_url: str = Field(
        default="http://127.0.0.1:11434/v1",
        description="base URL of the OpenAI-compatible API (a local model server works too)",
    )
    model: str = Field(default="gpt-4o-mini", min_length=1, description="chat model name")
    api_key: SecretStr = Field(default=SecretStr("unused"), description="upstream API key")
    max_output_tokens: int = Field(default=1024, ge=1, le=131_072)
    context_tokens: int = Field(
        default=8192, ge=512, description="the model's context window (prompt + answer)"
    )
    temperature: float | None = Field(default=None, ge=0, le=2)
    connect_timeout_seconds: float = Field(default=5.0, gt=0)
    read_timeout_seconds: float = Field(
        default=30.0, gt=0, description="longest wait for the next bytes (a stalled stream ends)"
    )
    request_deadline_seconds: float = Field(
        default=120.0, gt=0, description="longest one upstream round may take, retries included"
    )
    retry_attempts: int = Field(default=2, ge=0, le=10, description="retries of transient errors")
    retry_base_delay_seconds: float = Field(default=0.25, ge=0)
    retry_max_delay_seconds: float = Field(default=4.0, ge=0)
    breaker_fail_max: int = Field(default=5, ge=1, description="consecutive failures that open")
    breaker_reset_seconds: float = Field(
        default=30.0, gt=0, description="how long an open breaker waits before a trial call"
    )
    max_tool_rounds: int = Field(default=4, ge=1, le=16, description="model↔tool round trips")

    # --- embeddings and the vector index --------------------------------------------------------
    embedding_provider: EmbeddingProvider = EmbeddingProvider.LOCAL
    embedding_model: str = Field(default=LOCAL_HASHING_MODEL, min_length=1)
    embedding_dimensions: int = Field(default=384, ge=8, le=2000)
    embedding_base_url: str | None = Field(default=None, description="default: base_url")
    embedding_api_key: SecretStr | None = Field(default=None, description="default: api_key")
    embedding_batch_size: int = Field(default=64, ge=1, le=2048)
    vector_table: str | None = Field(
        default=None,
        pattern=VECTOR_TABLE_PATTERN,
        description="the chunk table to serve from; default: derived from the embedding",
    )
    index_type: IndexType = IndexType.HNSW
    index_m: int = Field(default=16, ge=2, le=100)
    index_ef_construction: int = Field(default=128, ge=4, le=1000)
    index_lists: int = Field(default=100, ge=1, le=32_768)
    index_ef_search: int = Field(default=80, ge=1, le=1000, description="HNSW query candidates")
    chunk_size_tokens: int = Field(default=200, ge=16, le=4096)
    chunk_overlap_tokens: int = Field(default=40, ge=0)
    retrieval_top_k: int = Field(default=8, ge=1, le=100)
    retrieval_min_score: float = Field(
        default=0.1, ge=0, le=1, description="cosine floor (the local embedder scores low)"
    )
    sync_on_start: bool = Field(
        default=True, description="embed documents missing from the vector table at startup"
    )
    ingest_sources: list[dict[str, Any]] = Field(
        default_factory=list, description="what `python -m ragline_llm.ingest` reads (JSON)"
    )

    # --- tools ----------------------------------------------------------------------------------
    api_url: str = Field(default="http://127.0.0.1:8000", description="the RAGline API (confirm)")
    api_timeout_seconds: float = Field(default=5.0, gt=0)
    confirm_attempts: int = Field(default=3, ge=1, le=10)

    # --- HTTP -----------------------------------------------------------------------------------
    max_body_bytes: int = Field(default=DEFAULT_MAX_BODY_BYTES, ge=1024)
    sse_ping_seconds: float = Field(default=15.0, gt=0)
    event_source: str = Field(default="/ragline/llm", description="CloudEvents `source`")

    @field_validator("chunk_overlap_tokens")
    @classmethod
    def _overlap_below_size(cls, value: int, info: Any) -> int:
        size = info.data.get("chunk_size_tokens")
        if size is not None and value >= size:
            raise ValueError("chunk_overlap_tokens must be smaller than chunk_size_tokens")
        return value

    @property
    def table(self) -> str:
        """The chunk table this process serves from and syncs."""
        return self.vector_table or default_vector_table(
            self.embedding_provider.value, self.embedding_model, self.embedding_dimensions
        )

    @property
    def embeddings_url(self) -> str:
        """Where remote embeddings come from."""
        return self.embedding_base_url or self.base_url

    @property
    def embeddings_key(self) -> SecretStr:
        """The key of the embedding endpoint."""
        return self.embedding_api_key or self.api_key
