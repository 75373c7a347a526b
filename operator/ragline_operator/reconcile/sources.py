"""A RagPipeline's source ConfigMaps: which are missing, and a checksum of their content.

The checksum is part of the ingestion Job's name, so editing a source ConfigMap runs a new
ingestion (a Job's pod template is immutable). A missing ConfigMap is named in a condition
instead of creating a Job whose pod could never mount it.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from ragline_operator.models import RagPipelineSpec


@dataclass(frozen=True)
class SourceRef:
    """A spec field naming a source ConfigMap."""

    path: str
    name: str


def source_refs(spec: RagPipelineSpec) -> list[SourceRef]:
    """Every ConfigMap among ``spec.sources``."""
    return [
        SourceRef(f"spec.sources[{i}].configMapRef", source.config_map_ref.name)
        for i, source in enumerate(spec.sources)
        if source.config_map_ref is not None
    ]


@dataclass(frozen=True)
class SourceResolution:
    """Content checksum of the source ConfigMaps, and those that are missing."""

    checksum: str
    problems: tuple[str, ...]


def resolve_sources(
    refs: Sequence[SourceRef], found: Mapping[str, Mapping[str, Any] | None]
) -> SourceResolution:
    """Checksum ``data`` and ``binaryData`` of every found ConfigMap; name the missing ones."""
    digest = hashlib.sha256()
    problems = []
    for ref in sorted(refs, key=lambda r: r.name):
        config_map = found.get(ref.name)
        if config_map is None:
            problems.append(f"{ref.path}: ConfigMap {ref.name!r} not found")
            continue
        content = {
            "data": config_map.get("data") or {},
            "binaryData": config_map.get("binaryData") or {},
        }
        digest.update(ref.name.encode() + b"\0")
        digest.update(json.dumps(content, sort_keys=True).encode())
    return SourceResolution(checksum=digest.hexdigest()[:16], problems=tuple(problems))
