"""What every reconcile pass shares: the subject, spec parsing, outcomes, applying, discovery.

A *pass* (one module per kind in this package) reads what it needs through
:class:`~ragline_operator.k8s.client.KubeClient`, asks :mod:`ragline_operator.reconcile` what the
state should be, applies the builders' manifests and returns an :class:`Outcome`. Handlers turn
outcomes into a status patch, Events and Kopf's retry semantics.
"""

from __future__ import annotations

import asyncio
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from ragline_operator.backends.cached import Backends
from ragline_operator.controllers.cleanup import Ledger
from ragline_operator.k8s.client import KubeClient
from ragline_operator.k8s.connection import KubeHolder
from ragline_operator.models import TENANTCONFIG
from ragline_operator.models.base import API_VERSION, ResourceKind
from ragline_operator.reconcile import conditions as cond
from ragline_operator.reconcile.conditions import Observation, Transition
from ragline_operator.reconcile.monitoring import MONITORING_GROUP_VERSION
from ragline_operator.reconcile.registry import TenantSource, tenant_source
from ragline_operator.reconcile.secrets import SecretField
from ragline_operator.resources.common import OwnerRef, TenantKeyMount, WorkloadImage
from ragline_operator.scaling.scaler import Scaler
from ragline_operator.settings import OperatorConfig

INVALID_SPEC = "InvalidSpec"
SpecT = TypeVar("SpecT", bound=BaseModel)


class InvalidSpecError(Exception):
    """The spec cannot be reconciled as written; the message names the fields."""


@dataclass(frozen=True)
class Subject:
    """The custom resource a pass reconciles (a snapshot of its body).

    ``last_status`` is the status this process last wrote: the watch may not have delivered it
    yet, and computing transitions against an older status would announce them twice.
    """

    body: Mapping[str, Any]
    last_status: Mapping[str, Any] | None = None

    @property
    def meta(self) -> Mapping[str, Any]:
        """metadata."""
        return dict(self.body.get("metadata") or {})

    @property
    def name(self) -> str:
        """metadata.name."""
        return str(self.meta["name"])

    @property
    def namespace(self) -> str:
        """metadata.namespace."""
        return str(self.meta["namespace"])

    @property
    def uid(self) -> str:
        """metadata.uid."""
        return str(self.meta.get("uid", ""))

    @property
    def generation(self) -> int | None:
        """metadata.generation."""
        generation = self.meta.get("generation")
        return int(generation) if generation is not None else None

    @property
    def annotations(self) -> Mapping[str, str]:
        """metadata.annotations."""
        return dict(self.meta.get("annotations") or {})

    @property
    def spec(self) -> Mapping[str, Any]:
        """spec."""
        return dict(self.body.get("spec") or {})

    @property
    def status(self) -> Mapping[str, Any]:
        """status as last written (by this process, or as the body says)."""
        return {**(self.body.get("status") or {}), **(self.last_status or {})}

    @property
    def conditions(self) -> list[Mapping[str, Any]]:
        """status.conditions as last written."""
        return list(self.status.get("conditions") or [])

    def owner(self, kind: ResourceKind) -> OwnerRef:
        """An owner reference to this resource."""
        return OwnerRef(kind=kind.kind, name=self.name, uid=self.uid)


@dataclass(frozen=True)
class Note:
    """Something that happened in a pass and deserves an Event (e.g. a key rotation)."""

    reason: str
    message: str
    warning: bool = False


@dataclass(frozen=True)
class Outcome:
    """The result of one pass: status to write, transitions to announce, what to do next."""

    status: dict[str, Any]
    transitions: list[Transition]
    ready: bool
    retry: str | None = None
    invalid: str | None = None
    notes: Sequence[Note] = ()
    busy: bool = False

    @property
    def settled(self) -> bool:
        """Ready with nothing running that the next pass should look at soon (e.g. a Job)."""
        return self.ready and not self.busy


def describe_errors(error: ValidationError) -> str:
    """``spec.a.b: message`` per error, the way a user would look the field up."""
    lines = []
    for item in error.errors():
        location = ".".join(str(part) for part in ("spec", *item["loc"]))
        lines.append(f"{location}: {item['msg']}")
    return "; ".join(lines)


def parse_spec(model: type[SpecT], spec: Mapping[str, Any]) -> SpecT:
    """Validate ``spec`` with the kind's model; :class:`InvalidSpecError` names every bad field."""
    try:
        return model.model_validate(dict(spec))
    except ValidationError as exc:
        raise InvalidSpecError(describe_errors(exc)) from exc


def conclude(
    subject: Subject,
    domain: Sequence[Observation],
    *,
    required: Collection[str],
    now: datetime,
    extra: Mapping[str, Any] | None = None,
    retry: str | None = None,
    notes: Sequence[Note] = (),
    busy: bool = False,
) -> Outcome:
    """Summarize, merge with the previous conditions and build the status to write.

    ``busy`` says something is still running although the resource is Ready (a re-ingestion):
    the resource is then re-checked at the progress period, not the resync period.
    """
    observations = cond.summarize(domain, required=required)
    merged = cond.merge(subject.conditions, observations, generation=subject.generation, now=now)
    status: dict[str, Any] = {
        "observedGeneration": subject.generation,
        "conditions": merged,
        **(extra or {}),
    }
    return Outcome(
        status=status,
        transitions=cond.transitions(subject.conditions, merged),
        ready=observations[0].is_true,
        retry=retry,
        notes=tuple(notes),
        busy=busy,
    )


def invalid_outcome(subject: Subject, message: str, *, now: datetime) -> Outcome:
    """Ready=False/InvalidSpec with the validation message (Degraded: the user must act)."""
    problem = cond.false(cond.READY, INVALID_SPEC, message, failure=True)
    observations = [
        problem,
        cond.false(cond.PROGRESSING, INVALID_SPEC, "waiting for a corrected spec"),
        cond.true(cond.DEGRADED, INVALID_SPEC, message),
    ]
    merged = cond.merge(subject.conditions, observations, generation=subject.generation, now=now)
    return Outcome(
        status={"observedGeneration": subject.generation, "conditions": merged},
        transitions=cond.transitions(subject.conditions, merged),
        ready=False,
        invalid=message,
    )


def paused_outcome(subject: Subject, *, now: datetime) -> Outcome:
    """Keep the conditions, say in Progressing that reconciling is paused."""
    merged = cond.merge(
        subject.conditions, cond.paused(subject.conditions), generation=None, now=now
    )
    ready = cond.condition_status(merged, cond.READY) == "True"
    return Outcome(
        status={"conditions": merged},
        transitions=cond.transitions(subject.conditions, merged),
        ready=ready,
    )


async def apply_all(client: KubeClient, manifests: Sequence[Mapping[str, Any]]) -> list[Any]:
    """Apply manifests concurrently; returns the stored objects in the same order."""
    return list(await asyncio.gather(*(client.apply(m) for m in manifests)))


async def read_secrets(
    client: KubeClient, namespace: str, fields: Iterable[SecretField]
) -> dict[str, Mapping[str, Any] | None]:
    """The Secrets ``fields`` reference, by name (None for a missing one)."""
    names = sorted({f.ref.name for f in fields})
    found = await asyncio.gather(*(client.get("v1", "Secret", namespace, n) for n in names))
    return dict(zip(names, found, strict=True))


async def tenant_keys(client: KubeClient, namespace: str) -> tuple[TenantKeyMount, ...]:
    """The key mounts of the namespace's tenants as the API server lists them now.

    Not from Kopf's index: when tenants and workloads are created together, the index can lag
    behind the workloads' first pass by many seconds under load, and every tenant indexed late
    would roll every workload of the namespace once more.
    """
    listed = await client.list(API_VERSION, TENANTCONFIG.kind, namespace)
    sources = [
        tenant_source(
            name=str(meta.get("name")),
            uid=str(meta.get("uid")),
            created=str(meta.get("creationTimestamp", "")),
            namespace=namespace,
            spec=obj.get("spec") or {},
            status=obj.get("status") or {},
        )
        for obj in listed
        if (meta := obj.get("metadata") or {})
    ]
    return tenant_mounts(sources)


def tenant_mounts(sources: Iterable[TenantSource]) -> tuple[TenantKeyMount, ...]:
    """Key Secrets of the namespace's tenants that use generated keys (one per tenant id)."""
    mounts: dict[str, TenantKeyMount] = {}
    for source in sorted(sources, key=lambda s: (s.created, s.name)):
        if source.tenant_id and source.secret_name and source.tenant_id not in mounts:
            mounts[source.tenant_id] = TenantKeyMount(source.tenant_id, source.secret_name)
    return tuple(mounts[t] for t in sorted(mounts))


@dataclass
class Discovery:
    """Caches whether an API group/version is served, for ``ttl`` seconds (monotonic clock)."""

    ttl: float
    _seen: dict[str, tuple[float, bool]] = field(default_factory=dict)

    async def serves(self, client: KubeClient, group_version: str, *, now: float) -> bool:
        """Whether ``group_version`` is served, asking the API server at most once per ttl."""
        cached = self._seen.get(group_version)
        if cached is not None and now - cached[0] < self.ttl:
            return cached[1]
        served = await client.serves(group_version)
        self._seen[group_version] = (now, served)
        return served

    async def monitoring(self, client: KubeClient, *, now: float) -> bool:
        """Whether the Prometheus Operator's API is served."""
        return await self.serves(client, MONITORING_GROUP_VERSION, now=now)


@dataclass
class ObjectState:
    """What this process remembers of one custom resource (by uid).

    ``requested`` asks for a pass at the next tick (a referenced Secret or ConfigMap changed);
    it is cleared when a pass *starts*, so a change seen during a pass gets a pass of its own.
    ``checksums`` are the last Secret/source checksums applied, to announce a change once;
    ``pruned_for`` the Jobs a pipeline last pruned everything else for.
    """

    lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    last_pass: float | None = None
    settled: bool = False
    status: dict[str, Any] | None = None
    requested: bool = False
    checksums: dict[str, str] = field(default_factory=dict)
    pruned_for: str | None = None

    def changed(self, name: str, checksum: str) -> bool:
        """Record ``checksum`` under ``name``; True if it replaced a different known one."""
        previous = self.checksums.get(name)
        self.checksums[name] = checksum
        return previous is not None and previous != checksum

    def remember(self, outcome: Outcome, *, now: float) -> None:
        """Record a finished pass: when, whether settled, and the status it leads to."""
        status = {**(self.status or {}), **outcome.status}
        self.status = {key: value for key, value in status.items() if value is not None}
        self.last_pass = now
        self.settled = outcome.settled


@dataclass
class OperatorState:
    """Operator-wide state shared by every handler through Kopf's memo."""

    config: OperatorConfig
    kube: KubeHolder
    backends: Backends
    discovery: Discovery = field(init=False)
    ledger: Ledger = field(init=False)
    registry_locks: dict[str, asyncio.Lock] = field(default_factory=dict)
    objects: dict[str, ObjectState] = field(default_factory=dict)
    # The lag scaler (started with the operator); its latest report per EventStream uid feeds
    # the reconcile pass's ScalingActive condition and status.consumers.
    scaler: Scaler | None = None
    wake: asyncio.Event = field(default_factory=asyncio.Event)

    def __post_init__(self) -> None:
        self.discovery = Discovery(ttl=self.config.discovery_ttl_seconds)
        self.ledger = Ledger(namespace=self.config.namespace)

    def request_pass(self, uids: Iterable[str]) -> int:
        """Ask for a pass of these resources at once; returns how many are known here."""
        known = [self.objects[uid] for uid in uids if uid in self.objects]
        for mine in known:
            mine.requested = True
        if known:
            self.wake.set()
        return len(known)

    def object(self, uid: str) -> ObjectState:
        """The memory of one resource, created on first use."""
        return self.objects.setdefault(uid, ObjectState())

    def forget(self, live: Collection[str]) -> None:
        """Drop the memory of resources whose uid is no longer ``live``."""
        for uid in [uid for uid in self.objects if uid not in live]:
            del self.objects[uid]

    @property
    def image(self) -> WorkloadImage:
        """The workloads' image."""
        return WorkloadImage(self.config.image, self.config.image_pull_policy)

    def registry_lock(self, namespace: str) -> asyncio.Lock:
        """Serialises registry publishing per namespace within this process."""
        return self.registry_locks.setdefault(namespace, asyncio.Lock())


@dataclass(frozen=True)
class PassInput:
    """Everything a pass gets besides the subject."""

    client: KubeClient
    state: OperatorState
    tenants: Sequence[TenantSource]
    now: datetime
    monotonic: float
