"""RagPipeline spec: database, cache, LLM, embedding, index, sources and the services."""

from __future__ import annotations

from enum import StrEnum

from pydantic import ConfigDict, Field

from ragline_operator.models.base import (
    LocalObjectReference,
    MonitoringSpec,
    ResourceKind,
    ResourceRequirements,
    SecretValue,
    SpecModel,
    cel,
    validations,
)

RAGPIPELINE = ResourceKind(kind="RagPipeline", plural="ragpipelines", short_name="rp")
# pgvector's HNSW and IVFFlat indexes support `vector` columns up to this many dimensions.
PGVECTOR_MAX_INDEXED_DIMENSIONS = 2000
# The one model the LLM service's Local provider implements: feature hashing, offline, into any
# number of dimensions (ragline_llm.settings.LOCAL_HASHING_MODEL; the operator imports no
# service, a unit test keeps the two equal). Any other Local model is refused at its startup.
LOCAL_EMBEDDING_MODEL = "ragline-hashing-v1"
# The LLM service's defaults, so a pipeline without spec.embedding embeds the same way.
DEFAULT_EMBEDDING_DIMENSIONS = 384
# The LLM service's settings refuse smaller embeddings.
MIN_EMBEDDING_DIMENSIONS = 8


class DatabaseSpec(SpecModel):
    """PostgreSQL with pgvector."""

    dsn: SecretValue = Field(description="Secret key holding the postgresql:// DSN.")


class CacheSpec(SpecModel):
    """A Redis-compatible cache."""

    url: SecretValue = Field(description="Secret key holding the redis:// URL.")


class LLMSpec(SpecModel):
    """An OpenAI-compatible chat model."""

    model_config = ConfigDict(populate_by_name=True)

    base_url: str = Field(
        alias="baseURL",
        pattern=r"^https?://",
        max_length=2048,
        description="Base URL of the OpenAI-compatible API, e.g. https://api.openai.com/v1.",
    )
    model: str = Field(min_length=1, max_length=256, description="Chat model name.")
    api_key: SecretValue | None = Field(
        default=None, description="Secret key holding the API key (omit for keyless endpoints)."
    )
    max_output_tokens: int = Field(
        default=1024, ge=1, le=131_072, description="Cap on tokens per answer."
    )


class EmbeddingProvider(StrEnum):
    """Where embeddings come from."""

    OPENAI_COMPATIBLE = "OpenAICompatible"
    LOCAL = "Local"


class EmbeddingSpec(SpecModel):
    """The embedding model; changing it re-indexes into a new table, switched over when complete."""

    model_config = ConfigDict(
        json_schema_extra=validations(
            cel(
                f"self.provider != 'Local' || self.model == '{LOCAL_EMBEDDING_MODEL}'",
                f"embedding.model: the Local provider implements only '{LOCAL_EMBEDDING_MODEL}' "
                "(use OpenAICompatible for other models)",
                field_path=".model",
            ),
            cel(
                f"self.provider != 'OpenAICompatible' || self.model != '{LOCAL_EMBEDDING_MODEL}'",
                f"embedding.model: '{LOCAL_EMBEDDING_MODEL}' is the Local provider's; name the "
                "model the OpenAICompatible endpoint serves",
                field_path=".model",
            ),
        )
    )

    provider: EmbeddingProvider = Field(
        default=EmbeddingProvider.LOCAL,
        description="OpenAICompatible (uses llm's endpoint and key) or Local (offline).",
    )
    model: str = Field(
        default=LOCAL_EMBEDDING_MODEL,
        min_length=1,
        max_length=256,
        description=(
            f"Embedding model. Local has exactly one, '{LOCAL_EMBEDDING_MODEL}' (lexical feature "
            "hashing, offline); OpenAICompatible takes the name of a model its endpoint serves."
        ),
    )
    dimensions: int = Field(
        default=DEFAULT_EMBEDDING_DIMENSIONS,
        ge=MIN_EMBEDDING_DIMENSIONS,
        le=16_000,
        description="Vector dimensions.",
    )


class RetrievalSpec(SpecModel):
    """How many chunks answer a question."""

    top_k: int = Field(default=8, ge=1, le=100, description="Chunks retrieved per question.")
    min_score: float = Field(default=0.2, ge=0, le=1, description="Cosine similarity floor.")


class VectorIndexType(StrEnum):
    """pgvector index types."""

    HNSW = "hnsw"
    IVFFLAT = "ivfflat"


class VectorIndexSpec(SpecModel):
    """The pgvector index over the chunk embeddings."""

    model_config = ConfigDict(
        json_schema_extra=validations(
            cel(
                "self.type != 'hnsw' || self.efConstruction >= 2 * self.m",
                "vectorIndex.efConstruction must be at least 2 * vectorIndex.m (pgvector)",
                field_path=".efConstruction",
            )
        )
    )

    type: VectorIndexType = Field(default=VectorIndexType.HNSW, description="hnsw or ivfflat.")
    m: int = Field(default=16, ge=2, le=100, description="HNSW: links per node.")
    ef_construction: int = Field(default=128, ge=4, le=1000, description="HNSW: build candidates.")
    lists: int = Field(default=100, ge=1, le=32_768, description="IVFFlat: inverted lists.")


class InlineDocument(SpecModel):
    """A small document written into the resource itself."""

    name: str = Field(
        pattern=r"^[A-Za-z0-9._-]+$", min_length=1, max_length=128, description="Document name."
    )
    text: str = Field(min_length=1, max_length=16_384, description="Document text.")


class ConfigMapDocuments(SpecModel):
    """Documents stored in a ConfigMap: every key (or the listed ones) is one document."""

    name: str = Field(
        pattern=r"^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$", max_length=253, description="ConfigMap name."
    )


class DocumentSource(SpecModel):
    """One source of documents to ingest: exactly one of configMapRef, inline or url."""

    model_config = ConfigDict(
        json_schema_extra=validations(
            cel(
                "[has(self.configMapRef), has(self.inline), has(self.url)]"
                ".filter(x, x).size() == 1",
                "each sources[] entry sets exactly one of configMapRef, inline or url",
            )
        )
    )

    config_map_ref: ConfigMapDocuments | None = Field(
        default=None, description="Documents in a ConfigMap (mounted into the ingestion Job)."
    )
    inline: InlineDocument | None = Field(default=None, description="One inline document.")
    url: str | None = Field(
        default=None, pattern=r"^https?://", max_length=2048, description="A document to fetch."
    )


class ComponentSpec(SpecModel):
    """Replicas and resources of one Deployment."""

    replicas: int = Field(default=1, ge=0, le=64, description="Pod replicas.")
    resources: ResourceRequirements | None = Field(default=None, description="Container resources.")


class RagPipelineSpec(SpecModel):
    """The API and chat services of a tenant-serving pipeline, its database, index and sources."""

    model_config = ConfigDict(
        json_schema_extra=validations(
            cel(
                "!has(self.embedding) || self.embedding.provider != 'OpenAICompatible' "
                "|| has(self.llm)",
                "embedding.provider OpenAICompatible uses llm's endpoint: set spec.llm",
                field_path=".embedding.provider",
            ),
            cel(
                "!has(self.embedding) || "
                f"self.embedding.dimensions <= {PGVECTOR_MAX_INDEXED_DIMENSIONS}",
                f"embedding.dimensions above {PGVECTOR_MAX_INDEXED_DIMENSIONS} cannot be indexed "
                "by pgvector",
                field_path=".embedding.dimensions",
            ),
        )
    )

    event_stream_ref: LocalObjectReference | None = Field(
        default=None, description="The EventStream relaying this pipeline's outbox."
    )
    database: DatabaseSpec = Field(description="PostgreSQL with pgvector.")
    cache: CacheSpec | None = Field(default=None, description="Redis-compatible cache.")
    llm: LLMSpec | None = Field(default=None, description="Chat model; omitted: retrieve-only.")
    embedding: EmbeddingSpec | None = Field(default=None, description="Embedding model.")
    retrieval: RetrievalSpec | None = Field(default=None, description="Retrieval settings.")
    vector_index: VectorIndexSpec | None = Field(default=None, description="pgvector index.")
    sources: list[DocumentSource] = Field(
        default_factory=list,
        max_length=32,
        description="Documents to ingest: ConfigMaps, inline documents or URLs.",
    )
    api: ComponentSpec | None = Field(default=None, description="API Deployment.")
    chat: ComponentSpec | None = Field(default=None, description="LLM chat Deployment.")
    monitoring: MonitoringSpec | None = Field(default=None, description="Prometheus scraping.")
