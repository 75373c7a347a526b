"""The RagPipeline's embedding: its default is what the LLM service's Local provider serves."""

from __future__ import annotations

import pytest

from ragline_llm.breakers import UpstreamBreaker
from ragline_llm.providers.factory import configured_spec, embedder
from ragline_llm.settings import LOCAL_HASHING_MODEL, LlmSettings
from ragline_operator.models import RagPipelineSpec
from ragline_operator.models.ragpipeline import LOCAL_EMBEDDING_MODEL, EmbeddingSpec
from ragline_operator.resources.common import OwnerRef, WorkloadImage
from ragline_operator.resources.ragpipeline import RagPipelineContext, build_ingestion_job
from tests.unit.operator.resources.helpers import container
from tests.unit.operator.samples import NAMESPACE, pipeline_spec

PREFIX = "RAGLINE_LLM_"


def llm_settings(spec: RagPipelineSpec) -> LlmSettings:
    """The LLM service's settings from the embedding env the operator gives the ingestion Job."""
    ctx = RagPipelineContext(
        owner=OwnerRef(kind="RagPipeline", name="menu", uid="uid-rp"),
        namespace=NAMESPACE,
        spec=spec,
        image=WorkloadImage("example.test/ragline:1.0"),
    )
    env = {item["name"]: item.get("value") for item in container(build_ingestion_job(ctx))["env"]}
    embedding = {
        name.removeprefix(PREFIX).lower(): value
        for name, value in env.items()
        if name.startswith(f"{PREFIX}EMBEDDING_")
    }
    return LlmSettings(database_url="postgresql://u@db/rag", **embedding)


def test_the_operator_names_the_model_the_local_provider_implements() -> None:
    assert LOCAL_EMBEDDING_MODEL == LOCAL_HASHING_MODEL
    default = EmbeddingSpec()
    service = LlmSettings(database_url="postgresql://u@db/rag")
    assert (default.provider.value, default.model, default.dimensions) == (
        service.embedding_provider.value,
        service.embedding_model,
        service.embedding_dimensions,
    )


@pytest.mark.parametrize(
    "embedding",
    [None, {}, {"provider": "Local", "dimensions": 256}],
    ids=["no-embedding", "empty-embedding", "local-256"],
)
async def test_a_pipeline_with_the_default_embedding_can_be_served_offline(
    embedding: dict[str, object] | None,
) -> None:
    extra = {} if embedding is None else {"embedding": embedding}
    settings = llm_settings(RagPipelineSpec.model_validate(pipeline_spec(**extra)))
    spec = configured_spec(settings)
    guard = UpstreamBreaker("embeddings", fail_max=3, reset_seconds=1.0)

    local = embedder(spec, settings, guard=guard, metrics=None)
    (vector,) = await local.embed(["vegetarian pizza"])

    assert spec.model == LOCAL_HASHING_MODEL
    assert len(vector) == spec.dimensions == (embedding or {}).get("dimensions", 384)


def test_the_llm_service_refuses_the_old_default_the_crd_now_refuses_too() -> None:
    settings = LlmSettings(database_url="postgresql://u@db/rag", embedding_model="all-MiniLM-L6-v2")
    guard = UpstreamBreaker("embeddings", fail_max=3, reset_seconds=1.0)

    with pytest.raises(ValueError, match="not available offline"):
        embedder(configured_spec(settings), settings, guard=guard, metrics=None)
