"""One reconcile pass of an EventStream: Secrets, relay, notifier, Services, monitoring."""

from __future__ import annotations

from typing import Any

from ragline_operator.controllers.base import (
    Outcome,
    PassInput,
    Subject,
    apply_all,
    conclude,
    parse_spec,
    read_secrets,
    tenant_mounts,
)
from ragline_operator.controllers.monitoring import reconcile_monitoring
from ragline_operator.models import EVENTSTREAM, BackendType, EventStreamSpec
from ragline_operator.reconcile.conditions import Observation, false
from ragline_operator.reconcile.secrets import SECRETS_READY, SecretField, resolve
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

RELAY_READY = "RelayReady"
NOTIFIER_READY = "NotifierReady"
SCALING_ACTIVE = "ScalingActive"
REQUIRED = (SECRETS_READY, RELAY_READY, NOTIFIER_READY)


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


def _scaling(spec: EventStreamSpec) -> list[Observation]:
    if spec.autoscaling is None:
        return []
    return [
        false(
            SCALING_ACTIVE,
            "ScalerNotAvailable",
            "lag-based scaling is not part of this operator build yet; the notifier keeps the "
            "replicas it has (the operator no longer writes them)",
        )
    ]


def _consumers(spec: EventStreamSpec, notifier: dict[str, Any]) -> list[dict[str, Any]]:
    replicas = notifier.get("status", {}).get("replicas", 0)
    consumers: list[dict[str, Any]] = [{"group": NOTIFIER_GROUP, "replicas": replicas}]
    consumers += [{"group": c.group} for c in spec.consumers if c.group != NOTIFIER_GROUP]
    return consumers


async def reconcile_eventstream(subject: Subject, io: PassInput) -> Outcome:
    """Apply the children and report their readiness."""
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
        tenant_keys=tenant_mounts(io.tenants),
    )
    relay, notifier, *_ = await apply_all(
        io.client,
        [
            build_relay_deployment(ctx),
            build_notifier_deployment(ctx),
            build_notifier_service(ctx),
            build_relay_metrics_service(ctx),
        ],
    )
    monitoring = await reconcile_monitoring(owner, subject.namespace, spec.monitoring, io)
    domain = [
        resolution.observation(),
        deployment_observation(RELAY_READY, relay, name=child_name(owner, RELAY)),
        deployment_observation(NOTIFIER_READY, notifier, name=child_name(owner, NOTIFIER)),
        monitoring,
        *_scaling(spec),
    ]
    extra = {
        "replicas": notifier.get("status", {}).get("replicas", 0),
        "consumers": _consumers(spec, notifier),
        "endpoints": {"notifier": notifier_url(ctx)},
    }
    return conclude(subject, domain, required=REQUIRED, now=io.now, extra=extra)
