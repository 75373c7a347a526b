"""Ingestion sources: bundles, front matter, ConfigMap folders."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from ragline_llm.sources import SourceError, load_sources, parse_text


def test_a_document_with_front_matter_names_its_tenant_and_kind() -> None:
    bundle = parse_text(
        "refunds.md", "---\ntenant: acme\nkind: policy\ntitle: Refunds\n---\nWithin 24 hours.\n"
    )
    assert bundle.tenant == "acme"
    [doc] = bundle.documents
    assert (doc.id, doc.kind.value, doc.title, doc.body) == (
        "refunds",
        "policy",
        "Refunds",
        "Within 24 hours.",
    )


@pytest.mark.parametrize("text", ["Just text.", "---\nkind: faq\n---\nbody", '{"documents": []}'])
def test_a_source_without_a_tenant_is_refused(text: str) -> None:
    with pytest.raises(SourceError, match="tenant"):
        parse_text("x.md", text)


def test_configmap_folders_skip_kubernetes_bookkeeping_and_merge_per_tenant(tmp_path: Path) -> None:
    (tmp_path / "..data").mkdir()
    (tmp_path / "..2026_11_23").mkdir()
    (tmp_path / "hours.md").write_text("---\ntenant: acme\nkind: faq\n---\nOpen at 11:30.")
    bundle = {
        "tenant": "acme",
        "documents": [
            {
                "id": "m1",
                "kind": "menu",
                "title": "Pizza",
                "metadata": {"sku": "p", "price_cents": 900},
            }
        ],
        "promotions": [],
    }
    (tmp_path / "menu.json").write_text(json.dumps(bundle))
    sources = [
        {"type": "configMap", "name": "docs", "path": str(tmp_path)},
        {"type": "inline", "name": "other.md", "text": "---\ntenant: globex\n---\nHello"},
        {"type": "demo", "tenant": "demo"},
    ]
    loaded = dict(load_sources(sources))
    assert sorted(loaded) == ["acme", "demo", "globex"]
    assert {doc.id for doc in loaded["acme"].documents} == {"hours", "m1"}
    assert len(loaded["demo"].documents) == 13
    assert len(loaded["demo"].promotions) == 2
