"""Which objects a resource reads or owns, so that their changes reach it at once.

A change of a Secret, a source ConfigMap or a referenced EventStream should reach the resources
that read it now (a rolled pod template, a new ingestion, EventStreamReady), not at the next
periodic resync: the handlers of those events look the object up in Kopf indexes of these keys
and ask for a pass of every reader. Children (Deployments, Jobs) name their owner themselves.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from pydantic import ValidationError

from ragline_operator.models import BackendType, EventStreamSpec, RagPipelineSpec

SECRET = "Secret"  # noqa: S105 - a kind, not a secret
CONFIGMAP = "ConfigMap"
EVENTSTREAM = "EventStream"
ReferenceKey = tuple[str, str, str]  # (namespace, kind, name)


def _keys(namespace: str, kind: str, names: Iterable[str]) -> dict[ReferenceKey, None]:
    return {(namespace, kind, name): None for name in names}


def eventstream_references(namespace: str, spec: Mapping[str, Any]) -> list[ReferenceKey]:
    """The Secrets an EventStream reads (none for a spec that does not parse)."""
    try:
        parsed = EventStreamSpec.model_validate(dict(spec))
    except ValidationError:
        return []
    names = [parsed.outbox.database.secret_key_ref.name]
    backend = parsed.backend
    if backend.type is BackendType.KAFKA and backend.kafka is not None:
        names.append(backend.kafka.bootstrap_servers.secret_key_ref.name)
    elif backend.redis is not None:
        names.append(backend.redis.url.secret_key_ref.name)
    return list(_keys(namespace, SECRET, names))


def ragpipeline_references(namespace: str, spec: Mapping[str, Any]) -> list[ReferenceKey]:
    """The Secrets and source ConfigMaps a RagPipeline reads."""
    try:
        parsed = RagPipelineSpec.model_validate(dict(spec))
    except ValidationError:
        return []
    secrets = [parsed.database.dsn.secret_key_ref.name]
    if parsed.cache is not None:
        secrets.append(parsed.cache.url.secret_key_ref.name)
    if parsed.llm is not None and parsed.llm.api_key is not None:
        secrets.append(parsed.llm.api_key.secret_key_ref.name)
    sources = [s.config_map_ref.name for s in parsed.sources if s.config_map_ref is not None]
    streams = [parsed.event_stream_ref.name] if parsed.event_stream_ref is not None else []
    return [
        *_keys(namespace, SECRET, secrets),
        *_keys(namespace, CONFIGMAP, sources),
        *_keys(namespace, EVENTSTREAM, streams),
    ]


def controller_uid(meta: Mapping[str, Any], api_version: str) -> str | None:
    """The uid of the object's controlling owner if that is one of ``api_version``'s kinds."""
    for ref in meta.get("ownerReferences") or []:
        if ref.get("controller") and ref.get("apiVersion") == api_version:
            return str(ref.get("uid") or "") or None
    return None
