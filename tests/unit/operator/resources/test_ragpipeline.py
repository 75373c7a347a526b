"""RagPipeline children: API and chat Deployments and Services, migration and ingestion Jobs."""

from __future__ import annotations

import json
from dataclasses import replace
from typing import Any

from ragline_operator.models import EmbeddingProvider, RagPipelineSpec
from ragline_operator.resources.common import OwnerRef, WorkloadImage
from ragline_operator.resources.ragpipeline import (
    IndexTarget,
    RagPipelineContext,
    build_api_deployment,
    build_api_service,
    build_ingestion_job,
    build_llm_deployment,
    build_llm_service,
    build_migration_job,
    index_target,
)
from tests.unit.operator.resources.helpers import container, env_map, pod_spec
from tests.unit.operator.samples import NAMESPACE, pipeline_spec

OWNER = OwnerRef(kind="RagPipeline", name="menu", uid="uid-rp")


def context(spec: dict[str, Any] | None = None, **extra: Any) -> RagPipelineContext:
    return RagPipelineContext(
        owner=OWNER,
        namespace=NAMESPACE,
        spec=RagPipelineSpec.model_validate(spec or pipeline_spec()),
        image=WorkloadImage("example.test/ragline:1.0"),
        api_checksum="api-sum",
        llm_checksum="llm-sum",
        **extra,
    )


def test_api_gets_database_and_cache_from_secrets() -> None:
    deployment = build_api_deployment(context())
    env = env_map(container(deployment))

    assert deployment["metadata"]["name"] == "menu-api"
    assert deployment["spec"]["replicas"] == 2
    assert env["RAGLINE_API_DATABASE_URL"] == {"secretKeyRef": {"name": "pg", "key": "dsn"}}
    assert env["RAGLINE_API_REDIS_URL"] == {"secretKeyRef": {"name": "redis", "key": "url"}}
    assert "RAGLINE_API_PORT" not in env  # the API takes --host/--port on its command line
    command = container(deployment)["command"]
    assert command[:4] == ["python", "-m", "ragline_api", "serve"]
    assert command[command.index("--port") + 1] == "8080"
    assert command[command.index("--host") + 1] == "0.0.0.0"


def test_llm_gets_model_endpoint_key_and_the_api_url() -> None:
    env = env_map(container(build_llm_deployment(context())))

    assert env["RAGLINE_LLM_BASE_URL"] == "http://127.0.0.1:9/v1"
    assert env["RAGLINE_LLM_MODEL"] == "tiny-chat"
    assert env["RAGLINE_LLM_API_KEY"] == {"secretKeyRef": {"name": "llm", "key": "key"}}
    assert env["RAGLINE_LLM_API_URL"] == "http://menu-api.shop.svc:8080"
    assert env["RAGLINE_LLM_RETRIEVAL_TOP_K"] == "8"


def test_without_llm_the_chat_service_is_retrieve_only() -> None:
    spec = pipeline_spec()
    del spec["llm"]
    env = env_map(container(build_llm_deployment(context(spec))))
    assert "RAGLINE_LLM_BASE_URL" not in env
    assert "RAGLINE_LLM_API_KEY" not in env


def test_chat_reads_the_active_index_while_a_new_one_is_built() -> None:
    old = IndexTarget("rag_chunks_old", EmbeddingProvider.LOCAL, "old-model", 384)
    ctx = context(active_index=old)
    chat = env_map(container(build_llm_deployment(ctx)))
    ingest = env_map(container(build_ingestion_job(ctx)))

    assert chat["RAGLINE_LLM_VECTOR_TABLE"] == "rag_chunks_old"
    assert chat["RAGLINE_LLM_EMBEDDING_MODEL"] == "old-model"
    assert ingest["RAGLINE_LLM_VECTOR_TABLE"] == ctx.target_index.table
    assert ingest["RAGLINE_LLM_EMBEDDING_MODEL"] == "ragline-hashing-v1"


def test_a_new_embedding_names_a_new_table() -> None:
    spec = RagPipelineSpec.model_validate(pipeline_spec())
    bigger = RagPipelineSpec.model_validate(pipeline_spec(embedding={"dimensions": 768}))
    assert index_target(spec).table != index_target(bigger).table
    assert index_target(spec) == index_target(RagPipelineSpec.model_validate(pipeline_spec()))


def test_ingestion_job_mounts_configmap_sources_and_describes_all() -> None:
    job = build_ingestion_job(context())
    env = env_map(container(job))
    sources = json.loads(env["RAGLINE_LLM_INGEST_SOURCES"])
    mounts = {m["mountPath"] for m in container(job)["volumeMounts"]}

    assert sources == [
        {"type": "configMap", "name": "menu", "path": "/etc/ragline/sources/menu"},
        {"type": "inline", "name": "faq", "text": "hi"},
    ]
    assert "/etc/ragline/sources/menu" in mounts
    assert pod_spec(job)["restartPolicy"] == "Never"
    assert job["spec"]["backoffLimit"] == 4
    assert env["RAGLINE_LLM_INDEX_TYPE"] == "hnsw"


def test_job_names_change_with_their_inputs_because_templates_are_immutable() -> None:
    ctx = context()
    assert build_migration_job(ctx)["metadata"]["name"].startswith("menu-migrate-")
    same = build_migration_job(context())["metadata"]["name"]
    assert build_migration_job(ctx)["metadata"]["name"] == same
    rotated = replace(ctx, api_checksum="new-password")
    assert build_migration_job(rotated)["metadata"]["name"] != same
    more_sources = context(pipeline_spec(sources=[{"url": "https://example.test/menu.md"}]))
    assert (
        build_ingestion_job(more_sources)["metadata"]["name"]
        != build_ingestion_job(ctx)["metadata"]["name"]
    )


def test_jobs_do_not_listen_or_get_probed() -> None:
    job = container(build_migration_job(context()))
    assert "ports" not in job
    assert "readinessProbe" not in job
    assert container(build_migration_job(context()))["command"][-1] == "migrate"
    assert env_map(job)["RAGLINE_API_DATABASE_URL"] == {
        "secretKeyRef": {"name": "pg", "key": "dsn"}
    }


def test_services_and_resources() -> None:
    ctx = context(pipeline_spec(chat={"resources": {"limits": {"cpu": 2, "memory": "1Gi"}}}))
    assert build_api_service(ctx)["metadata"]["name"] == "menu-api"
    assert build_llm_service(ctx)["spec"]["selector"]["app.kubernetes.io/name"] == "ragline-llm"
    resources = container(build_llm_deployment(ctx))["resources"]
    assert resources["limits"] == {"cpu": 2, "memory": "1Gi"}
    assert resources["requests"] == {"cpu": "50m", "memory": "128Mi"}
