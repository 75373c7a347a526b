"""One reconcile pass of a RagPipeline: Jobs first, then the services reading their results."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from typing import Any

from ragline_operator.backends.common import ProbeResult
from ragline_operator.controllers.base import (
    Note,
    Outcome,
    PassInput,
    Subject,
    apply_all,
    conclude,
    parse_spec,
    read_secrets,
    tenant_keys,
)
from ragline_operator.controllers.monitoring import reconcile_monitoring
from ragline_operator.models import EVENTSTREAM, RAGPIPELINE, RagPipelineSpec
from ragline_operator.models.base import API_VERSION
from ragline_operator.reconcile.conditions import Observation
from ragline_operator.reconcile.dependencies import (
    DATABASE_READY,
    database_observation,
    llm_observation,
)
from ragline_operator.reconcile.pipeline import (
    API_READY,
    CHAT_READY,
    EVENT_STREAM_READY,
    INDEX_READY,
    MIGRATED,
    decide_index,
    event_stream_observation,
    ingestion_observations,
    migration_observation,
)
from ragline_operator.reconcile.secrets import (
    SECRETS_READY,
    SecretField,
    SecretResolution,
    resolve,
)
from ragline_operator.reconcile.sources import SourceResolution, resolve_sources, source_refs
from ragline_operator.reconcile.workloads import (
    IngestionReport,
    JobState,
    deployment_observation,
    ingestion_report,
    job_state,
)
from ragline_operator.resources.common import (
    LABEL_INSTANCE,
    LABEL_OWNER_KIND,
    OwnerRef,
    child_name,
)
from ragline_operator.resources.ragpipeline import (
    API,
    LLM,
    RagPipelineContext,
    api_secret_refs,
    api_url,
    build_api_deployment,
    build_api_service,
    build_ingestion_job,
    build_llm_deployment,
    build_llm_service,
    build_migration_job,
    ingestion_job_name,
    llm_secret_refs,
    llm_url,
)
from ragline_operator.resources.workloads import service_url

REQUIRED = (
    SECRETS_READY,
    DATABASE_READY,
    MIGRATED,
    INDEX_READY,
    API_READY,
    CHAT_READY,
    EVENT_STREAM_READY,
)
JOB_NAME_LABEL = "batch.kubernetes.io/job-name"


def secret_fields(spec: RagPipelineSpec) -> list[SecretField]:
    """Every Secret key the spec references, with the field that names it."""
    fields = [SecretField("spec.database.dsn", spec.database.dsn.secret_key_ref)]
    if spec.cache is not None:
        fields.append(SecretField("spec.cache.url", spec.cache.url.secret_key_ref))
    if spec.llm is not None and spec.llm.api_key is not None:
        fields.append(SecretField("spec.llm.apiKey", spec.llm.api_key.secret_key_ref))
    return fields


async def _ingestion_report(
    ctx: RagPipelineContext, previous: dict[str, Any] | None, io: PassInput
) -> IngestionReport | None:
    """Counts from the succeeded ingestion pod, unless status already has this Job's counts."""
    if (
        previous
        and previous.get("ingestionJob") == ingestion_job_name(ctx)
        and "chunks" in previous
    ):
        return IngestionReport(int(previous.get("documents", 0)), int(previous["chunks"]))
    pods = await io.client.list(
        "v1", "Pod", ctx.namespace, label_selector={JOB_NAME_LABEL: ingestion_job_name(ctx)}
    )
    return ingestion_report(pods)


async def _event_stream(subject: Subject, spec: RagPipelineSpec, io: PassInput) -> list[Any]:
    if spec.event_stream_ref is None:
        return []
    name = spec.event_stream_ref.name
    stream = await io.client.get(API_VERSION, EVENTSTREAM.kind, subject.namespace, name)
    observation = event_stream_observation(name, stream)
    return [observation] if observation is not None else []


async def _prune_jobs(ctx: RagPipelineContext, keep: set[str], io: PassInput) -> None:
    """Delete this pipeline's Jobs superseded by new inputs (their names carry a hash).

    Listed only when the wanted Jobs differ from what this process last pruned for (always
    after a restart), not on every pass.
    """
    mine = io.state.object(ctx.owner.uid)
    wanted = ",".join(sorted(keep))
    if mine.pruned_for == wanted:
        return
    jobs = await io.client.list(
        "batch/v1",
        "Job",
        ctx.namespace,
        label_selector={LABEL_INSTANCE: ctx.owner.name, LABEL_OWNER_KIND: "ragpipeline"},
    )
    for job in jobs:
        meta = job.get("metadata", {})
        owned = any(ref.get("uid") == ctx.owner.uid for ref in meta.get("ownerReferences", []))
        if owned and meta.get("name") not in keep:
            await io.client.delete("batch/v1", "Job", ctx.namespace, str(meta["name"]))
    mine.pruned_for = wanted


def _endpoints(ctx: RagPipelineContext, spec: RagPipelineSpec) -> dict[str, Any]:
    endpoints: dict[str, Any] = {"api": api_url(ctx), "chat": llm_url(ctx), "events": None}
    if spec.event_stream_ref is not None:
        stream = OwnerRef(kind=EVENTSTREAM.kind, name=spec.event_stream_ref.name, uid="")
        endpoints["events"] = service_url(stream, namespace=ctx.namespace, component="notifier")
    return endpoints


async def _probes(
    spec: RagPipelineSpec, resolution: SecretResolution, io: PassInput
) -> list[Observation]:
    """``DatabaseReady`` and ``LLMReachable``, probed concurrently (and cached across pipelines)."""
    backends = io.state.backends
    database = backends.probe_database(resolution.text(spec.database.dsn.secret_key_ref))
    llm = spec.llm
    if llm is None:
        return [database_observation(await database), llm_observation(None)]
    key = resolution.text(llm.api_key.secret_key_ref) if llm.api_key else None
    results: tuple[ProbeResult, ProbeResult] = await asyncio.gather(
        database, backends.probe_llm(llm.base_url, key or None)
    )
    return [database_observation(results[0]), llm_observation(results[1])]


async def _sources(subject: Subject, spec: RagPipelineSpec, io: PassInput) -> SourceResolution:
    refs = source_refs(spec)
    names = sorted({ref.name for ref in refs})
    found = await asyncio.gather(
        *(io.client.get("v1", "ConfigMap", subject.namespace, name) for name in names)
    )
    return resolve_sources(refs, dict(zip(names, found, strict=True)))


async def _jobs(
    ctx: RagPipelineContext, sources: SourceResolution, io: PassInput
) -> tuple[dict[str, Any], dict[str, Any] | None]:
    """Apply the migration Job and, unless a source is missing, the ingestion Job."""
    manifests = [build_migration_job(ctx)]
    if not sources.problems:
        manifests.append(build_ingestion_job(ctx))
    applied = await apply_all(io.client, manifests)
    if sources.problems:
        return applied[0], None  # keep every ingestion Job until the sources are back
    await _prune_jobs(ctx, {str(job["metadata"]["name"]) for job in applied}, io)
    return applied[0], applied[1]


def _notes(subject: Subject, ctx: RagPipelineContext, io: PassInput) -> list[Note]:
    mine = io.state.object(subject.uid)
    notes = []
    rolled = [
        component
        for component, checksum in ((API, ctx.api_checksum), (LLM, ctx.llm_checksum))
        if mine.changed(component, checksum)
    ]
    if rolled:
        notes.append(
            Note("SecretChanged", f"a referenced Secret changed: rolling {', '.join(rolled)}")
        )
    if mine.changed("sources", ctx.sources_checksum):
        notes.append(Note("SourcesChanged", "a source ConfigMap changed: re-ingesting"))
    return notes


async def reconcile_ragpipeline(subject: Subject, io: PassInput) -> Outcome:
    """Migrate, ingest, serve; switch the chat service to a new index once it is complete."""
    spec = parse_spec(RagPipelineSpec, subject.spec)
    owner = subject.owner(RAGPIPELINE)
    fields = secret_fields(spec)
    resolution = resolve(fields, await read_secrets(io.client, subject.namespace, fields))
    if resolution.problems:
        return conclude(
            subject,
            [resolution.observation()],
            required=REQUIRED,
            now=io.now,
            retry="; ".join(resolution.problems),
        )
    sources = await _sources(subject, spec, io)
    ctx = RagPipelineContext(
        owner=owner,
        namespace=subject.namespace,
        spec=spec,
        image=io.state.image,
        api_checksum=resolution.checksum(api_secret_refs(spec)),
        llm_checksum=resolution.checksum(llm_secret_refs(spec)),
        tenant_keys=await tenant_keys(io.client, subject.namespace),
        sources_checksum=sources.checksum,
    )
    probes, (migration, ingestion) = await asyncio.gather(
        _probes(spec, resolution, io), _jobs(ctx, sources, io)
    )
    previous_index = subject.status.get("index")
    ingest_state = job_state(ingestion)
    report = (
        await _ingestion_report(ctx, previous_index, io)
        if ingest_state is JobState.SUCCEEDED
        else None
    )
    index = decide_index(
        target=ctx.target_index,
        previous=previous_index,
        ingestion=ingest_state,
        report=report,
        now=io.now,
        job=ingestion_job_name(ctx) if ingestion is not None else None,
    )
    ctx = replace(ctx, active_index=index.serving)
    api, _, chat, _ = await apply_all(
        io.client,
        [
            build_api_deployment(ctx),
            build_api_service(ctx),
            build_llm_deployment(ctx),
            build_llm_service(ctx),
        ],
    )
    domain = [
        resolution.observation(),
        *probes,
        migration_observation(job_state(migration), migration),
        *ingestion_observations(
            ingest_state, ingestion, serving=index.serving, source_problems=sources.problems
        ),
        deployment_observation(API_READY, api, name=child_name(owner, API)),
        deployment_observation(CHAT_READY, chat, name=child_name(owner, LLM)),
        *await _event_stream(subject, spec, io),
        await reconcile_monitoring(owner, subject.namespace, spec.monitoring, io),
    ]
    extra = {"index": index.status, "endpoints": _endpoints(ctx, spec)}
    notes = _notes(subject, ctx, io)
    busy = JobState.RUNNING in (ingest_state, job_state(migration))
    return conclude(
        subject, domain, required=REQUIRED, now=io.now, extra=extra, notes=notes, busy=busy
    )
