"""RagPipeline handlers against KMock: Jobs, services, the index and the endpoints."""

from __future__ import annotations

import json
from typing import Any

import kmock
import kopf

from ragline_operator.backends.common import ProbeResult
from ragline_operator.handlers.ragpipeline import ragpipeline_create, ragpipeline_update
from tests.unit.operator.conftest import FakeBackends
from tests.unit.operator.handlers.util import call, conditions, put, stored, with_status
from tests.unit.operator.samples import body, pipeline_spec, redis_stream_spec, secret

JOBS = "batch/v1/jobs"


def add_secrets(api: kmock.KubernetesEmulator, dsn: str = "postgresql://db") -> None:
    put(api, "v1/secrets", secret("pg", dsn=dsn))
    put(api, "v1/secrets", secret("redis", url="redis://127.0.0.1:6379/0"))
    put(api, "v1/secrets", secret("llm", key="sk-test"))
    put(api, "v1/configmaps", menu())


def menu(text: str = "---\ntenant: acme\n---\nPizza.") -> dict[str, Any]:
    """The source ConfigMap ``menu`` of :func:`pipeline_spec`."""
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": "menu", "namespace": "shop"},
        "data": {"pizza.md": text},
    }


def mark_ready(api: kmock.KubernetesEmulator, name: str) -> None:
    obj = api.objects["apps/v1/deployments", "shop", name]
    replicas = obj.raw["spec"].get("replicas", 1)
    obj.patch(
        {
            "metadata": {"generation": 1},
            "status": {
                "observedGeneration": 1,
                "replicas": replicas,
                "updatedReplicas": replicas,
                "readyReplicas": replicas,
            },
        }
    )


def job_names(api: kmock.KubernetesEmulator) -> list[str]:
    return sorted(
        name
        for (resource, _, name), obj in api.objects.items()
        if resource.plural == "jobs" and not obj.deleted
    )


def complete(api: kmock.KubernetesEmulator, name: str) -> None:
    api.objects[JOBS, "shop", name].patch(
        {"status": {"succeeded": 1, "conditions": [{"type": "Complete", "status": "True"}]}}
    )


def ingestion_pod(job: str) -> dict[str, Any]:
    message = json.dumps({"documents": 13, "chunks": 41})
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": f"{job}-x", "labels": {"batch.kubernetes.io/job-name": job}},
        "status": {
            "containerStatuses": [{"state": {"terminated": {"exitCode": 0, "message": message}}}]
        },
    }


async def test_create_applies_jobs_services_and_reports_endpoints(
    api: kmock.KubernetesEmulator, memo: kopf.Memo
) -> None:
    add_secrets(api)
    pipeline = body("RagPipeline", "menu", pipeline_spec())

    patch = await call(ragpipeline_create, pipeline, memo)

    assert [n.split("-")[1] for n in job_names(api)] == ["ingest", "migrate"]
    for name in ("menu-api", "menu-llm"):
        assert stored(api, "apps/v1/deployments", name) is not None
        assert stored(api, "v1/services", name) is not None
    status = patch["status"]
    assert status["endpoints"] == {
        "api": "http://menu-api.shop.svc:8080",
        "chat": "http://menu-llm.shop.svc:8080",
        "events": "http://orders-notifier.shop.svc:8080",
    }
    state = conditions(status)
    assert state["Migrated"] == ("False", "Running")
    assert state["IndexReady"] == ("False", "Building")
    assert state["EventStreamReady"] == ("False", "NotFound")
    assert state["Ready"][0] == "False"


async def test_completed_ingestion_fills_the_index_status(
    api: kmock.KubernetesEmulator, memo: kopf.Memo
) -> None:
    add_secrets(api)
    put(
        api,
        "ragline.dev/v1alpha1/eventstreams",
        body(
            "EventStream",
            "orders",
            redis_stream_spec(),
            status={"conditions": [{"type": "Ready", "status": "True"}]},
        ),
    )
    pipeline = body("RagPipeline", "menu", pipeline_spec())
    first = await call(ragpipeline_create, pipeline, memo)
    for name in job_names(api):
        complete(api, name)
    ingest = next(n for n in job_names(api) if "-ingest-" in n)
    put(api, "v1/pods", ingestion_pod(ingest))

    second = await call(ragpipeline_update, with_status(pipeline, first), memo)

    index = second["status"]["index"]
    assert (index["documents"], index["chunks"]) == (13, 41)
    assert index["embeddingModel"] == "ragline-hashing-v1"
    assert index["table"].startswith("rag_chunks_")
    state = conditions(second["status"])
    assert state["Migrated"] == ("True", "Succeeded")
    assert state["IndexReady"] == ("True", "Current")
    assert state["Ingesting"] == ("False", "Idle")
    assert state["EventStreamReady"] == ("True", "Ready")


async def test_a_new_database_secret_replaces_the_migration_job(
    api: kmock.KubernetesEmulator, memo: kopf.Memo
) -> None:
    add_secrets(api)
    pipeline = body("RagPipeline", "menu", pipeline_spec())
    await call(ragpipeline_create, pipeline, memo)
    before = job_names(api)

    add_secrets(api, dsn="postgresql://moved")
    await call(ragpipeline_update, pipeline, memo)

    after = job_names(api)
    assert len(after) == 2
    assert set(after).isdisjoint(before)


async def test_jobs_of_other_owners_are_never_pruned(
    api: kmock.KubernetesEmulator, memo: kopf.Memo
) -> None:
    add_secrets(api)
    foreign = {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": {"name": "someone-elses", "ownerReferences": [{"uid": "another"}]},
    }
    put(api, JOBS, foreign)

    await call(ragpipeline_create, body("RagPipeline", "menu", pipeline_spec()), memo)

    assert "someone-elses" in job_names(api)


async def test_database_and_llm_probes_are_conditions_only_the_database_blocks_ready(
    api: kmock.KubernetesEmulator, memo: kopf.Memo, backends: FakeBackends
) -> None:
    add_secrets(api)
    backends.llm = ProbeResult(ok=False, reason="Unauthorized", message="refused the key")
    pipeline = body("RagPipeline", "menu", pipeline_spec(eventStreamRef=None))
    first = await call(ragpipeline_create, pipeline, memo)
    for name in job_names(api):
        complete(api, name)
    for name in ("menu-api", "menu-llm"):
        mark_ready(api, name)

    ready = await call(ragpipeline_update, with_status(pipeline, first), memo)

    state = conditions(ready["status"])
    assert state["LLMReachable"] == ("False", "Unauthorized")
    assert state["DatabaseReady"] == ("True", "Connected")
    assert state["Ready"] == ("True", "Ready")
    assert state["Degraded"] == ("True", "Unauthorized")

    backends.database = ProbeResult(ok=False, reason="Unreachable", message="refused")
    down = await call(ragpipeline_update, with_status(pipeline, ready), memo)
    assert conditions(down["status"])["Ready"] == ("False", "Unreachable")


async def test_a_missing_source_configmap_is_named_and_no_ingestion_job_runs(
    api: kmock.KubernetesEmulator, memo: kopf.Memo
) -> None:
    add_secrets(api)
    api.objects["v1/configmaps", "shop", "menu"].delete()

    patch = await call(ragpipeline_create, body("RagPipeline", "menu", pipeline_spec()), memo)

    assert [n.split("-")[1] for n in job_names(api)] == ["migrate"]
    state = conditions(patch["status"])
    assert state["Ingesting"] == ("False", "SourceNotFound")
    ingesting = next(c for c in patch["status"]["conditions"] if c["type"] == "Ingesting")
    assert "spec.sources[0].configMapRef: ConfigMap 'menu' not found" in ingesting["message"]


async def test_an_edited_source_configmap_runs_a_new_ingestion(
    api: kmock.KubernetesEmulator, memo: kopf.Memo
) -> None:
    add_secrets(api)
    pipeline = body("RagPipeline", "menu", pipeline_spec())
    await call(ragpipeline_create, pipeline, memo)
    before = {n for n in job_names(api) if "-ingest-" in n}

    put(api, "v1/configmaps", menu("---\ntenant: acme\n---\nPizza and pasta."))
    await call(ragpipeline_update, pipeline, memo)

    after = {n for n in job_names(api) if "-ingest-" in n}
    assert len(after) == 1
    assert after.isdisjoint(before)
