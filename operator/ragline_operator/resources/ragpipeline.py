"""Children of a RagPipeline: API and chat Deployments and Services, migration and ingestion Jobs.

The chat service reads the *active* index, the ingestion Job writes the *target* index (named
after the embedding model and dimensions). They differ only while a re-index after an embedding
change runs; the operator switches the chat service over when the ingestion Job completes.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ragline_operator.models import (
    ComponentSpec,
    EmbeddingProvider,
    EmbeddingSpec,
    RagPipelineSpec,
    RetrievalSpec,
    VectorIndexSpec,
)
from ragline_operator.models.base import SecretKeySelector
from ragline_operator.resources.common import (
    Manifest,
    OwnerRef,
    PodParts,
    TenantKeyMount,
    WorkloadImage,
    child_name,
    json_env,
    plain_env,
    secret_env,
    short_hash,
    tenant_auth_env,
    tenant_key_volumes,
)
from ragline_operator.resources.env import COMMANDS, Service, env_name
from ragline_operator.resources.workloads import deployment, job, service, service_url

API = "api"
LLM = "llm"
MIGRATE = "migrate"
INGEST = "ingest"
SOURCES_MOUNT_DIR = "/etc/ragline/sources"


@dataclass(frozen=True)
class IndexTarget:
    """One vector index: the table and the embedding that fills it."""

    table: str
    provider: EmbeddingProvider
    model: str
    dimensions: int


def index_target(spec: RagPipelineSpec) -> IndexTarget:
    """The index the spec asks for; a new embedding model or size means a new table."""
    embedding = spec.embedding or EmbeddingSpec()
    digest = short_hash(embedding.provider.value, embedding.model, embedding.dimensions)
    return IndexTarget(
        table=f"rag_chunks_{digest}",
        provider=embedding.provider,
        model=embedding.model,
        dimensions=embedding.dimensions,
    )


@dataclass(frozen=True)
class RagPipelineContext:
    """Everything the RagPipeline's children are built from."""

    owner: OwnerRef
    namespace: str
    spec: RagPipelineSpec
    image: WorkloadImage
    api_checksum: str = ""
    llm_checksum: str = ""
    active_index: IndexTarget | None = None
    tenant_keys: tuple[TenantKeyMount, ...] = field(default=())
    sources_checksum: str = ""

    @property
    def target_index(self) -> IndexTarget:
        """The index the spec asks for."""
        return index_target(self.spec)

    @property
    def serving_index(self) -> IndexTarget:
        """The index the chat service reads: the active one, or the target before any exists."""
        return self.active_index or self.target_index


def api_secret_refs(spec: RagPipelineSpec) -> list[SecretKeySelector]:
    """Secrets the API (and the migration Job) read."""
    refs = [spec.database.dsn.secret_key_ref]
    if spec.cache is not None:
        refs.append(spec.cache.url.secret_key_ref)
    return refs


def llm_secret_refs(spec: RagPipelineSpec) -> list[SecretKeySelector]:
    """Secrets the chat service (and the ingestion Job) read."""
    refs = api_secret_refs(spec)
    if spec.llm is not None and spec.llm.api_key is not None:
        refs.append(spec.llm.api_key.secret_key_ref)
    return refs


def _store_env(service_: Service, spec: RagPipelineSpec) -> list[dict[str, Any]]:
    env: list[dict[str, Any]] = [
        secret_env(env_name(service_, "database_url"), spec.database.dsn.secret_key_ref)
    ]
    if spec.cache is not None:
        env.append(secret_env(env_name(service_, "redis_url"), spec.cache.url.secret_key_ref))
    return env


def _model_env(spec: RagPipelineSpec, index: IndexTarget) -> list[dict[str, Any]]:
    svc = Service.LLM
    env: list[dict[str, Any]] = []
    if spec.llm is not None:
        env.append(plain_env(svc, "base_url", spec.llm.base_url))
        env.append(plain_env(svc, "model", spec.llm.model))
        env.append(plain_env(svc, "max_output_tokens", spec.llm.max_output_tokens))
        if spec.llm.api_key is not None:
            env.append(secret_env(env_name(svc, "api_key"), spec.llm.api_key.secret_key_ref))
    env += [
        plain_env(svc, "embedding_provider", index.provider.value),
        plain_env(svc, "embedding_model", index.model),
        plain_env(svc, "embedding_dimensions", index.dimensions),
        plain_env(svc, "vector_table", index.table),
    ]
    return env


def _parts(
    ctx: RagPipelineContext,
    *,
    service_: Service,
    component: str,
    env: list[dict[str, Any]],
    **extra: Any,
) -> PodParts:
    checksum = ctx.api_checksum if service_ is Service.API else ctx.llm_checksum
    return PodParts(
        service=service_,
        component=component,
        owner=ctx.owner,
        namespace=ctx.namespace,
        image=ctx.image,
        command=COMMANDS[component],
        env=env,
        secrets_checksum=checksum,
        **extra,
    )


def build_api_deployment(ctx: RagPipelineContext) -> Manifest:
    """The API: products, orders and the transactional outbox."""
    volumes, mounts = tenant_key_volumes(ctx.tenant_keys)
    env = [*_store_env(Service.API, ctx.spec), *tenant_auth_env(Service.API)]
    api = ctx.spec.api or ComponentSpec()
    parts = _parts(
        ctx,
        service_=Service.API,
        component=API,
        env=env,
        resources=api.resources,
        volumes=volumes,
        mounts=mounts,
    )
    return deployment(parts, replicas=api.replicas)


def build_llm_deployment(ctx: RagPipelineContext) -> Manifest:
    """The chat service: LLM, tools and retrieval over the active index."""
    retrieval = ctx.spec.retrieval or RetrievalSpec()
    volumes, mounts = tenant_key_volumes(ctx.tenant_keys)
    env = [
        *_store_env(Service.LLM, ctx.spec),
        *_model_env(ctx.spec, ctx.serving_index),
        plain_env(Service.LLM, "retrieval_top_k", retrieval.top_k),
        plain_env(Service.LLM, "retrieval_min_score", retrieval.min_score),
        plain_env(Service.LLM, "api_url", api_url(ctx)),
        *tenant_auth_env(Service.LLM),
    ]
    chat = ctx.spec.chat or ComponentSpec()
    parts = _parts(
        ctx,
        service_=Service.LLM,
        component=LLM,
        env=env,
        resources=chat.resources,
        volumes=volumes,
        mounts=mounts,
    )
    return deployment(parts, replicas=chat.replicas)


def build_api_service(ctx: RagPipelineContext) -> Manifest:
    """The API's Service."""
    return service(ctx.owner, namespace=ctx.namespace, component=API)


def build_llm_service(ctx: RagPipelineContext) -> Manifest:
    """The chat service's Service."""
    return service(ctx.owner, namespace=ctx.namespace, component=LLM)


def api_url(ctx: RagPipelineContext) -> str:
    """The API's in-cluster URL."""
    return service_url(ctx.owner, namespace=ctx.namespace, component=API)


def llm_url(ctx: RagPipelineContext) -> str:
    """The chat service's in-cluster URL."""
    return service_url(ctx.owner, namespace=ctx.namespace, component=LLM)


def migration_job_name(ctx: RagPipelineContext) -> str:
    """A new name whenever the image or the database changes, so the migration runs again."""
    return f"{child_name(ctx.owner, MIGRATE)}-{short_hash(ctx.image.image, ctx.api_checksum)}"


def build_migration_job(ctx: RagPipelineContext) -> Manifest:
    """Schema migrations of the pipeline's database, run once per image and database."""
    parts = _parts(
        ctx,
        service_=Service.API,
        component=MIGRATE,
        env=_store_env(Service.API, ctx.spec),
        serves_http=False,
    )
    return job(parts, name=migration_job_name(ctx))


def _sources(spec: RagPipelineSpec) -> tuple[list[dict[str, Any]], list[Manifest], list[Manifest]]:
    described: list[dict[str, Any]] = []
    volumes: list[Manifest] = []
    mounts: list[Manifest] = []
    for source in spec.sources:
        if source.config_map_ref is not None:
            name = source.config_map_ref.name
            volume = f"src-{short_hash(name)}"
            path = f"{SOURCES_MOUNT_DIR}/{name}"
            volumes.append({"name": volume, "configMap": {"name": name}})
            mounts.append({"name": volume, "mountPath": path, "readOnly": True})
            described.append({"type": "configMap", "name": name, "path": path})
        elif source.inline is not None:
            described.append(
                {"type": "inline", "name": source.inline.name, "text": source.inline.text}
            )
        elif source.url is not None:
            described.append({"type": "url", "url": source.url})
    return described, volumes, mounts


def ingestion_job_name(ctx: RagPipelineContext) -> str:
    """A new name whenever what is indexed (sources and their content), or how, changes."""
    spec = ctx.spec
    digest = short_hash(
        ctx.target_index.table,
        [s.model_dump(mode="json", exclude_none=True) for s in spec.sources],
        (spec.vector_index or VectorIndexSpec()).model_dump(mode="json"),
        ctx.image.image,
        ctx.llm_checksum,
        ctx.sources_checksum,
    )
    return f"{child_name(ctx.owner, INGEST)}-{digest}"


def build_ingestion_job(ctx: RagPipelineContext) -> Manifest:
    """Chunks and embeds the sources into the target index table.

    The Job writes ``{"documents": N, "chunks": M}`` to its termination message, which the
    operator copies into ``status.index``.
    """
    spec = ctx.spec
    index = spec.vector_index or VectorIndexSpec()
    described, volumes, mounts = _sources(spec)
    svc = Service.LLM
    env = [
        *_store_env(svc, spec),
        *_model_env(spec, ctx.target_index),
        plain_env(svc, "index_type", index.type.value),
        plain_env(svc, "index_m", index.m),
        plain_env(svc, "index_ef_construction", index.ef_construction),
        plain_env(svc, "index_lists", index.lists),
        json_env(svc, "ingest_sources", described),
    ]
    parts = _parts(
        ctx,
        service_=svc,
        component=INGEST,
        env=env,
        volumes=volumes,
        mounts=mounts,
        serves_http=False,
    )
    return job(parts, name=ingestion_job_name(ctx))
