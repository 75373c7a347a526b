"""Secrets and ConfigMaps that resources read: a change asks for a pass of those resources.

Both kinds are watched cluster-wide, but a handler runs only for an object some EventStream or
RagPipeline references (the ``when`` filter looks it up in the reference indexes), so the
operator's own writes and unrelated objects cost one dictionary lookup and no log line. The pass
itself runs in the resync loop, under the resource's lock, like any other.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from typing import Any

import kopf

from ragline_operator.handlers.common import operator_state
from ragline_operator.models import EVENTSTREAM, RAGPIPELINE
from ragline_operator.models.base import GROUP, VERSION
from ragline_operator.reconcile.references import (
    CONFIGMAP,
    SECRET,
    ReferenceKey,
    eventstream_references,
    ragpipeline_references,
)

ReferenceIndex = kopf.Index[ReferenceKey, str]


@kopf.index(GROUP, VERSION, EVENTSTREAM.plural)
def eventstream_reads(
    *, namespace: str | None, uid: str, spec: kopf.Spec, **_: Any
) -> dict[ReferenceKey, str]:
    """(namespace, kind, name) of every Secret an EventStream reads → its uid."""
    return {key: uid for key in eventstream_references(namespace or "", spec)}


@kopf.index(GROUP, VERSION, RAGPIPELINE.plural)
def ragpipeline_reads(
    *, namespace: str | None, uid: str, spec: kopf.Spec, **_: Any
) -> dict[ReferenceKey, str]:
    """(namespace, kind, name) of every Secret and source ConfigMap a RagPipeline reads."""
    return {key: uid for key in ragpipeline_references(namespace or "", spec)}


def readers(key: ReferenceKey, *indexes: Mapping[ReferenceKey, Collection[str]] | None) -> set[str]:
    """Uids of the resources that read the object ``key``."""
    return {uid for index in indexes if index is not None for uid in index.get(key, ())}


def _is_read(
    kind: str,
    *,
    type: str | None,
    namespace: str | None,
    name: str | None,
    eventstream_reads: ReferenceIndex | None,
    ragpipeline_reads: ReferenceIndex | None,
) -> bool:
    # type None is the initial listing: every resource gets its first pass anyway.
    if type is None:
        return False
    key = (namespace or "", kind, name or "")
    return bool(readers(key, eventstream_reads, ragpipeline_reads))


def _secret_is_read(
    *,
    type: str | None,
    namespace: str | None,
    name: str | None,
    eventstream_reads: ReferenceIndex | None = None,
    ragpipeline_reads: ReferenceIndex | None = None,
    **_: Any,
) -> bool:
    return _is_read(
        SECRET,
        type=type,
        namespace=namespace,
        name=name,
        eventstream_reads=eventstream_reads,
        ragpipeline_reads=ragpipeline_reads,
    )


def _configmap_is_read(
    *,
    type: str | None,
    namespace: str | None,
    name: str | None,
    eventstream_reads: ReferenceIndex | None = None,
    ragpipeline_reads: ReferenceIndex | None = None,
    **_: Any,
) -> bool:
    return _is_read(
        CONFIGMAP,
        type=type,
        namespace=namespace,
        name=name,
        eventstream_reads=eventstream_reads,
        ragpipeline_reads=ragpipeline_reads,
    )


@kopf.on.event("v1", "secrets", when=_secret_is_read)
async def secret_event(
    *,
    type: str,
    namespace: str | None,
    name: str,
    memo: kopf.Memo,
    logger: kopf.Logger,
    eventstream_reads: ReferenceIndex | None = None,
    ragpipeline_reads: ReferenceIndex | None = None,
    **_: Any,
) -> None:
    """A referenced Secret was changed, created or deleted: roll or report at once."""
    uids = readers((namespace or "", SECRET, name), eventstream_reads, ragpipeline_reads)
    woken = operator_state(memo).request_pass(uids)
    logger.info("Secret %s %s: reconciling %d resource(s) that read it", name, type, woken)


@kopf.on.event("v1", "configmaps", when=_configmap_is_read)
async def configmap_event(
    *,
    type: str,
    namespace: str | None,
    name: str,
    memo: kopf.Memo,
    logger: kopf.Logger,
    eventstream_reads: ReferenceIndex | None = None,
    ragpipeline_reads: ReferenceIndex | None = None,
    **_: Any,
) -> None:
    """A source ConfigMap was changed, created or deleted: re-ingest or report at once."""
    uids = readers((namespace or "", CONFIGMAP, name), eventstream_reads, ragpipeline_reads)
    woken = operator_state(memo).request_pass(uids)
    logger.info("ConfigMap %s %s: reconciling %d resource(s) that read it", name, type, woken)
