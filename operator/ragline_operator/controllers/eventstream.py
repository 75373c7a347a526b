"""One reconcile pass of an EventStream: Secrets, ledger, stream, relay, notifier, monitoring,
and the engine that scales its consumers (builtin scaler or KEDA ScaledObjects)."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from ragline_operator.controllers.autoscaling import reconcile_autoscaling
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
from ragline_operator.k8s.errors import ApiError
from ragline_operator.models import EVENTSTREAM, BackendType, EventStreamSpec
from ragline_operator.reconcile.cleanup import cleanup_observation, record_for
from ragline_operator.reconcile.conditions import Observation
from ragline_operator.reconcile.dependencies import (
    BROKER_REACHABLE,
    STREAM_READY,
    broker_observations,
    stream_announcements,
    stream_target,
)
from ragline_operator.reconcile.secrets import (
    SECRETS_READY,
    SecretField,
    SecretResolution,
    resolve,
)
from ragline_operator.reconcile.workloads import deployment_observation
from ragline_operator.resources.common import child_name
from ragline_operator.resources.eventstream import (
    NOTIFIER,
    NOTIFIER_GROUP,
    RELAY,
    EventStreamContext,
    broker_secret_refs,
    build_notifier_deployment,
    build_notifier_service,
    build_relay_deployment,
    build_relay_metrics_service,
    notifier_url,
    relay_secret_refs,
)
from ragline_operator.scaling.scaler import StreamReport

RELAY_READY = "RelayReady"
NOTIFIER_READY = "NotifierReady"
REQUIRED = (SECRETS_READY, BROKER_REACHABLE, STREAM_READY, RELAY_READY, NOTIFIER_READY)
log = logging.getLogger(__name__)


def secret_fields(spec: EventStreamSpec) -> list[SecretField]:
    """Every Secret key the spec references, with the field that names it."""
    fields = [SecretField("spec.outbox.database", spec.outbox.database.secret_key_ref)]
    backend = spec.backend
    if backend.type is BackendType.KAFKA and backend.kafka is not None:
        ref = backend.kafka.bootstrap_servers.secret_key_ref
        fields.append(SecretField("spec.backend.kafka.bootstrapServers", ref))
    elif backend.redis is not None:
        fields.append(SecretField("spec.backend.redis.url", backend.redis.url.secret_key_ref))
    return fields


def _consumers(
    spec: EventStreamSpec, notifier: dict[str, Any], report: StreamReport | None
) -> list[dict[str, Any]]:
    if report is not None:
        return [c.status() for c in report.consumers]
    replicas = notifier.get("status", {}).get("replicas", 0)
    consumers: list[dict[str, Any]] = [{"group": NOTIFIER_GROUP, "replicas": replicas}]
    consumers += [{"group": c.group} for c in spec.consumers if c.group != NOTIFIER_GROUP]
    return consumers


async def _stream(
    subject: Subject, spec: EventStreamSpec, resolution: SecretResolution, io: PassInput
) -> tuple[list[Observation], list[Note]]:
    """Record the stream in the cleanup ledger first (so it is never left behind), then ensure it.

    Returns ``BrokerReachable``, ``StreamReady`` (and ``CleanupReady`` for deletionPolicy Delete)
    with Notes for what was created.
    """
    (address_ref,) = broker_secret_refs(spec)
    target = stream_target(spec, resolution.text(address_ref))
    ledger = io.state.ledger
    record = record_for(
        uid=subject.uid,
        namespace=subject.namespace,
        name=subject.name,
        policy=spec.deletion_policy,
        target=target,
    )
    problem = ""
    try:
        await ledger.put(io.client, record)
    except ApiError as exc:
        problem = f"cannot write {ledger.where}: {exc.message or exc.reason}"
        log.warning("EventStream %s/%s: %s", subject.namespace, subject.name, problem)
    cleanup = cleanup_observation(
        spec.deletion_policy, recorded=not problem, problem=problem, ledger=ledger.where
    )
    report = await io.state.backends.ensure_stream(target)
    notes = [Note(reason, message) for reason, message in stream_announcements(report, target)]
    observations = broker_observations(report)
    return ([*observations, cleanup] if cleanup else observations), notes


def _secret_notes(subject: Subject, ctx: EventStreamContext, io: PassInput) -> list[Note]:
    mine = io.state.object(subject.uid)
    rolled = [
        component
        for component, checksum in ((RELAY, ctx.relay_checksum), (NOTIFIER, ctx.notifier_checksum))
        if mine.changed(component, checksum)
    ]
    if not rolled:
        return []
    return [Note("SecretChanged", f"a referenced Secret changed: rolling {', '.join(rolled)}")]


async def reconcile_eventstream(subject: Subject, io: PassInput) -> Outcome:
    """Apply the children, ensure the stream, and report readiness."""
    spec = parse_spec(EventStreamSpec, subject.spec)
    owner = subject.owner(EVENTSTREAM)
    fields = secret_fields(spec)
    resolution = resolve(fields, await read_secrets(io.client, subject.namespace, fields))
    if resolution.problems:
        # Leave running children alone rather than roll out pods that cannot start.
        return conclude(
            subject,
            [resolution.observation()],
            required=REQUIRED,
            now=io.now,
            retry="; ".join(resolution.problems),
        )
    ctx = EventStreamContext(
        owner=owner,
        namespace=subject.namespace,
        spec=spec,
        image=io.state.image,
        relay_checksum=resolution.checksum(relay_secret_refs(spec)),
        notifier_checksum=resolution.checksum(broker_secret_refs(spec)),
        tenant_keys=await tenant_keys(io.client, subject.namespace),
    )
    (stream, notes), backlog, (relay, notifier, *_) = await asyncio.gather(
        _stream(subject, spec, resolution, io),
        io.state.backends.read_outbox(resolution.text(spec.outbox.database.secret_key_ref)),
        apply_all(
            io.client,
            [
                build_relay_deployment(ctx),
                build_notifier_deployment(ctx),
                build_notifier_service(ctx),
                build_relay_metrics_service(ctx),
            ],
        ),
    )
    monitoring = await reconcile_monitoring(owner, subject.namespace, spec.monitoring, io)
    scaler = io.state.scaler
    report = scaler.reports.get(subject.uid) if scaler is not None else None
    (address_ref,) = broker_secret_refs(spec)
    scaling = await reconcile_autoscaling(
        owner=owner,
        namespace=subject.namespace,
        spec=spec,
        address=resolution.text(address_ref),
        report=report,
        io=io,
    )
    domain = [
        resolution.observation(),
        *stream,
        deployment_observation(RELAY_READY, relay, name=child_name(owner, RELAY)),
        deployment_observation(NOTIFIER_READY, notifier, name=child_name(owner, NOTIFIER)),
        monitoring,
        *scaling,
    ]
    extra = {
        "replicas": notifier.get("status", {}).get("replicas", 0),
        "consumers": _consumers(spec, notifier, report),
        **({"lag": report.lag} if report is not None and report.lag is not None else {}),
        # Unreadable (not migrated yet, database down): no figures rather than stale ones.
        "outbox": backlog.status(),
        "endpoints": {"notifier": notifier_url(ctx)},
    }
    notes += _secret_notes(subject, ctx, io)
    return conclude(subject, domain, required=REQUIRED, now=io.now, extra=extra, notes=notes)
