"""``python -m ragline_llm.ingest``: ingest the sources into the target vector table.

What the RagPipeline's ingestion Job runs. It migrates the LLM tables, replaces the
source-ingested documents and promotions with what ``RAGLINE_LLM_INGEST_SOURCES`` holds (plus
``--demo TENANT`` and ``--file PATH``), builds the target table (``RAGLINE_LLM_VECTOR_TABLE``)
completely — chunks, embeddings, index — and only then marks it ready, and writes
``{"documents": N, "chunks": M}`` to the termination message for the operator's status.

``--api-url`` with ``--token`` (a staff token of the tenant) links menu items to the API's
products by SKU, creating the missing ones, so ``confirm`` can order them.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import httpx

from ragline_common.logs import configure_logging, get_logger
from ragline_llm import migrations
from ragline_llm.app import knowledge_store
from ragline_llm.db import create_engine
from ragline_llm.providers import factory
from ragline_llm.rag import index
from ragline_llm.rag.documents import KnowledgeBundle
from ragline_llm.settings import LlmSettings
from ragline_llm.sources import load_sources

log = get_logger(__name__)
TERMINATION_LOG = Path("/dev/termination-log")
PRODUCT_PAGE_SIZE = 100
MAX_PRODUCT_PAGES = 100


def link_products(bundle: KnowledgeBundle, *, api_url: str, token: str) -> KnowledgeBundle:
    """Fill in menu items' ``product_id`` from the API (creating products it lacks)."""
    headers = {"Authorization": f"Bearer {token}"}
    known: dict[str, str] = {}
    with httpx.Client(base_url=api_url, headers=headers, timeout=10.0) as client:
        cursor: str | None = None
        for _ in range(MAX_PRODUCT_PAGES):
            params: dict[str, Any] = {"limit": PRODUCT_PAGE_SIZE}
            if cursor:
                params["cursor"] = cursor
            page = client.get("/v1/products", params=params).raise_for_status().json()
            known.update({item["sku"]: item["id"] for item in page["items"]})
            cursor = page.get("next_cursor")
            if not cursor:
                break
        documents = []
        for doc in bundle.documents:
            sku = doc.metadata.get("sku") if doc.kind == "menu" else None
            if sku is not None and sku not in known:
                created = client.post(
                    "/v1/products",
                    json={
                        "sku": sku,
                        "name": doc.title,
                        "description": doc.body[:2000],
                        "price_cents": doc.metadata["price_cents"],
                        "currency": doc.metadata.get("currency", "EUR"),
                        "category": doc.metadata.get("category"),
                        "available": doc.metadata.get("available", True),
                    },
                )
                known[sku] = created.raise_for_status().json()["id"]
            if sku is not None:
                linked = {**doc.metadata, "product_id": known[sku]}
                documents.append(doc.model_copy(update={"metadata": linked}))
            else:
                documents.append(doc)
    return bundle.model_copy(update={"documents": documents})


async def run(settings: LlmSettings, bundles: list[tuple[str, KnowledgeBundle]]) -> dict[str, int]:
    """Ingest ``bundles`` and build the target table; return its document and chunk counts."""
    await asyncio.to_thread(migrations.upgrade, settings.database_url)
    engine = create_engine(
        settings.database_url, ef_search=settings.index_ef_search, pool_size=2, max_overflow=2
    )
    guard = factory.breaker("embeddings", settings, None)
    store = knowledge_store(settings, engine, guard=guard, metrics=None)
    try:
        documents, promotions = await store.ingest_sources(bundles)
        await store.start(build=False)
        result = await store.build()
        async with engine.connect() as conn:
            docs, chunks = await index.count_rows(conn, store.target)
        log.info(
            "ingested",
            table=store.target.name,
            documents_written=documents,
            promotions_written=promotions,
            chunks_embedded=result.chunks,
        )
        return {"documents": docs, "chunks": chunks}
    finally:
        await store.close()
        await engine.dispose()


def main(argv: Sequence[str] | None = None) -> int:
    """Parse the command line and ingest."""
    parser = argparse.ArgumentParser(prog="python -m ragline_llm.ingest", description=__doc__)
    parser.add_argument("--demo", metavar="TENANT", help="also ingest the demo knowledge")
    parser.add_argument("--file", action="append", default=[], help="a file or folder to ingest")
    parser.add_argument("--api-url", help="link menu items to this API's products by SKU")
    parser.add_argument(
        "--token",
        default=os.environ.get("RAGLINE_LLM_INGEST_TOKEN"),
        help="a staff token for --api-url (default: $RAGLINE_LLM_INGEST_TOKEN, kept out of ps)",
    )
    args = parser.parse_args(argv)
    settings = LlmSettings()
    configure_logging(level=settings.log_level, json=settings.log_json)
    sources = list(settings.ingest_sources)
    sources += [{"type": "file", "path": path} for path in args.file]
    if args.demo:
        sources.append({"type": "demo", "tenant": args.demo})
    bundles = load_sources(sources)
    if args.api_url and args.token:
        bundles = [
            (t, link_products(b, api_url=args.api_url, token=args.token)) for t, b in bundles
        ]
    counts = asyncio.run(run(settings, bundles))
    print(json.dumps(counts))
    with contextlib.suppress(OSError):  # outside a Kubernetes container there is none
        TERMINATION_LOG.write_text(json.dumps(counts))
    return 0


if __name__ == "__main__":
    sys.exit(main())
