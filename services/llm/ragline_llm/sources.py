"""Reading ingestion sources (``RAGLINE_LLM_INGEST_SOURCES``) into per-tenant bundles.

Sources are what the operator describes from a RagPipeline's ``spec.sources``: mounted ConfigMap
folders (``{"type": "configMap", "path": ...}``, every file one document), inline documents
(``{"type": "inline", "name", "text"}``) and URLs (``{"type": "url", "url"}``); locally also
files (``{"type": "file", "path"}``) and the demo (``{"type": "demo", "tenant"}``).

A pipeline serves many tenants, so each document must say whose it is. A text is either
a JSON bundle (``{"tenant", "documents": [...], "promotions": [...]}``), or a Markdown/text
document whose YAML front matter names at least ``tenant``::

    ---
    tenant: acme
    kind: policy
    title: Refund policy
    ---
    Orders can be cancelled ...
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import httpx
import yaml

from ragline_llm.demo import demo_bundle
from ragline_llm.rag.documents import KnowledgeBundle

_FRONT_MATTER = re.compile(r"\A---\s*\n(.*?)\n---\s*\n?(.*)\Z", re.DOTALL)
_SLUG = re.compile(r"[^A-Za-z0-9._:-]+")
URL_TIMEOUT_SECONDS = 30.0


class SourceError(ValueError):
    """A source cannot be read or names no tenant."""


def parse_text(name: str, text: str) -> KnowledgeBundle:
    """Parse one source text (a JSON bundle, or a document with front matter)."""
    stripped = text.lstrip()
    if stripped.startswith("{"):
        bundle = KnowledgeBundle.model_validate_json(stripped)
        if not bundle.tenant:
            raise SourceError(f"{name}: the bundle names no tenant")
        return bundle
    match = _FRONT_MATTER.match(text)
    if match is None:
        raise SourceError(f"{name}: no front matter naming the tenant")
    header = yaml.safe_load(match.group(1)) or {}
    if not isinstance(header, dict) or not header.get("tenant"):
        raise SourceError(f"{name}: the front matter names no tenant")
    stem = Path(name).stem
    document = {
        "id": str(header.get("id") or _SLUG.sub("-", stem).strip("-") or "document"),
        "kind": header.get("kind", "other"),
        "title": str(header.get("title") or stem),
        "body": match.group(2).strip(),
        "metadata": header.get("metadata") or {},
    }
    return KnowledgeBundle(tenant=str(header["tenant"]), documents=[document])


def _folder(path: Path) -> Iterable[tuple[str, str]]:
    # ConfigMap mounts hold ..data and timestamped folders next to the keys: skip hidden entries.
    for file in sorted(path.iterdir()):
        if file.name.startswith(".") or not file.is_file():
            continue
        yield file.name, file.read_text()


def _texts(source: Mapping[str, Any], client: httpx.Client) -> Iterable[tuple[str, str]]:
    kind = source.get("type")
    if kind == "configMap":
        yield from _folder(Path(source["path"]))
    elif kind == "file":
        path = Path(source["path"])
        yield from _folder(path) if path.is_dir() else [(path.name, path.read_text())]
    elif kind == "inline":
        yield str(source["name"]), str(source["text"])
    elif kind == "url":
        response = client.get(str(source["url"]))
        response.raise_for_status()
        yield str(source["url"]), response.text
    elif kind == "demo":
        yield "demo", json.dumps(demo_bundle(str(source["tenant"])))
    else:
        raise SourceError(f"unknown source type {kind!r}")


def load_sources(sources: Iterable[Mapping[str, Any]]) -> list[tuple[str, KnowledgeBundle]]:
    """Read every source; return (tenant, bundle) pairs, one per tenant, merged."""
    merged: dict[str, KnowledgeBundle] = {}
    with httpx.Client(timeout=URL_TIMEOUT_SECONDS, follow_redirects=True) as client:
        for source in sources:
            for name, text in _texts(source, client):
                bundle = parse_text(name, text)
                tenant = str(bundle.tenant)
                current = merged.get(tenant) or KnowledgeBundle(tenant=tenant)
                merged[tenant] = KnowledgeBundle(
                    tenant=tenant,
                    documents=[*current.documents, *bundle.documents],
                    promotions=[*current.promotions, *bundle.promotions],
                )
    return sorted(merged.items())
