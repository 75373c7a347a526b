"""Settings: every variable the operator sets is read, and names agree with the operator's."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from ragline_llm.settings import EmbeddingProvider, LlmSettings, default_vector_table
from ragline_operator.models import EmbeddingSpec, RagPipelineSpec
from ragline_operator.resources.env import ENV_FIELDS, Service
from ragline_operator.resources.ragpipeline import index_target

DSN = "postgresql://u@127.0.0.1:1/db"


def test_every_variable_the_operator_sets_is_a_settings_field() -> None:
    assert ENV_FIELDS[Service.LLM] <= set(LlmSettings.model_fields)


def test_the_default_table_is_the_one_the_operator_derives() -> None:
    spec = RagPipelineSpec.model_validate(
        {
            "database": {"dsn": {"secretKeyRef": {"name": "db", "key": "dsn"}}},
            "embedding": EmbeddingSpec(model="ragline-hashing-v1", dimensions=256).model_dump(
                by_alias=True
            ),
        }
    )
    target = index_target(spec)
    assert (
        default_vector_table(target.provider.value, target.model, target.dimensions) == target.table
    )


def test_settings_come_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RAGLINE_LLM_DATABASE_URL", DSN)
    monkeypatch.setenv("RAGLINE_LLM_EMBEDDING_PROVIDER", "OpenAICompatible")
    monkeypatch.setenv(
        "RAGLINE_LLM_INGEST_SOURCES", '[{"type": "inline", "name": "a", "text": "b"}]'
    )
    settings = LlmSettings()
    assert settings.embedding_provider is EmbeddingProvider.OPENAI_COMPATIBLE
    assert settings.ingest_sources == [{"type": "inline", "name": "a", "text": "b"}]


def test_overlap_must_be_smaller_than_the_chunk() -> None:
    with pytest.raises(ValidationError, match="chunk_overlap_tokens"):
        LlmSettings(database_url=DSN, chunk_size_tokens=50, chunk_overlap_tokens=50)
