"""``make generate`` / ``make verify``: every generated file from its one source of truth.

Each generator returns ``{path relative to the repository: content}``. ``write`` writes them all;
``check`` regenerates in memory and fails naming every file that drifted (or is missing).
"""

from __future__ import annotations

import argparse
import difflib
import json
import sys
from collections.abc import Callable, Sequence
from typing import Any

from ragline_api.app import openapi_document
from ragline_common.events import event_schemas as event_data_schemas
from ragline_common.registry import TenantRegistry
from ragline_dev.chart import chart_documents
from ragline_dev.paths import REPO_ROOT
from ragline_llm.app import openapi_document as llm_openapi_document
from ragline_llm.tools.events import event_schema as chat_tool_event_schema
from ragline_notifier.app import openapi_document as notifier_openapi_document
from ragline_operator.rbac import operator_manifests
from ragline_relay.app import openapi_document as relay_openapi_document

Documents = dict[str, str]


def dump_json(document: Any) -> str:
    """Serialise a generated JSON document the one way every generator does."""
    return json.dumps(document, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def tenant_registry_schema() -> Documents:
    """The tenant registry format shared by the operator (writer) and the services (readers)."""
    schema = TenantRegistry.model_json_schema(by_alias=True)
    schema["$id"] = "https://ragline.dev/schemas/tenant-registry.v1.json"
    return {"contracts/tenant-registry.v1.schema.json": dump_json(schema)}


def api_openapi() -> Documents:
    """The API's OpenAPI document, from ``create_app().openapi()``."""
    return {"contracts/openapi/api.json": dump_json(openapi_document())}


def event_schemas() -> Documents:
    """One JSON Schema per event type's data, and the CloudEvents envelope's."""
    documents = event_data_schemas().items()
    return {f"contracts/events/{name}": dump_json(schema) for name, schema in documents}


def llm_contracts() -> Documents:
    """The LLM service's OpenAPI document and its ``chat.tool.v1`` event schema."""
    return {
        "contracts/openapi/llm.json": dump_json(llm_openapi_document()),
        "contracts/events/chat.tool.v1.json": dump_json(chat_tool_event_schema()),
    }


def relay_openapi() -> Documents:
    """The relay's OpenAPI document: probes, metrics and the dead-letter admin."""
    return {"contracts/openapi/relay.json": dump_json(relay_openapi_document())}


def notifier_openapi() -> Documents:
    """The notifier's OpenAPI document: the SSE streams, the WebSocket handshake, probes."""
    return {"contracts/openapi/notifier.json": dump_json(notifier_openapi_document())}


# Later pieces (OpenAPI, event schemas, CRDs, values schema) add their generator here.
GENERATORS: list[Callable[[], Documents]] = [
    tenant_registry_schema,
    operator_manifests,
    api_openapi,
    event_schemas,
    llm_contracts,
    relay_openapi,
    notifier_openapi,
    chart_documents,
]


def render_all() -> Documents:
    """Run every generator and merge their documents."""
    documents: Documents = {}
    for generator in GENERATORS:
        for path, content in generator().items():
            if path in documents:
                raise RuntimeError(f"{path} is generated twice (second by {generator.__name__})")
            documents[path] = content
    return documents


def write(documents: Documents) -> None:
    """Write the documents into the repository."""
    for path, content in documents.items():
        target = REPO_ROOT / path
        target.parent.mkdir(parents=True, exist_ok=True)
        if not target.exists() or target.read_text() != content:
            target.write_text(content)
            print(f"wrote {path}")


def drift(documents: Documents) -> list[str]:
    """Return a message per generated file whose committed copy differs."""
    problems = []
    for path, content in sorted(documents.items()):
        target = REPO_ROOT / path
        if not target.exists():
            problems.append(f"{path}: missing (run `make generate`)")
            continue
        current = target.read_text()
        if current != content:
            diff = "".join(
                list(
                    difflib.unified_diff(
                        current.splitlines(keepends=True),
                        content.splitlines(keepends=True),
                        fromfile=f"{path} (committed)",
                        tofile=f"{path} (generated)",
                    )
                )[:40]
            )
            problems.append(f"{path}: differs from its source (run `make generate`)\n{diff}")
    return problems


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``python -m ragline_dev.generate write|check``."""
    parser = argparse.ArgumentParser(prog="ragline_dev.generate")
    parser.add_argument("action", choices=["write", "check"])
    args = parser.parse_args(argv)
    documents = render_all()
    if args.action == "write":
        write(documents)
        return 0
    problems = drift(documents)
    for problem in problems:
        print(problem, file=sys.stderr)
    if not problems:
        print(f"{len(documents)} generated files up to date")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
