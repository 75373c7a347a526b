"""What the operator's e2e tests share: the operator process, samples, polling, fake LLM."""

from __future__ import annotations

import asyncio
import contextlib
import copy
import json
import os
import signal
import subprocess
import threading
import time
from collections.abc import Awaitable, Callable, Iterator, Mapping
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, TypeVar

from ragline_dev import procs
from ragline_dev.infra.kube import Kubectl
from ragline_dev.operator_part import (
    is_ready,
    sample_resources,
    sample_secrets,
    start_operator,
)

T = TypeVar("T")
WAIT_SECONDS = 120.0  # an upper bound for a loaded 2-core machine, not an expectation
POLL_SECONDS = 0.3
# What every e2e operator runs with: notice readiness fast, re-probe backends often.
E2E_SETTINGS = {"progress_seconds": "0.5", "probe_ttl_seconds": "1", "probe_timeout_seconds": "3"}
LLM_KEY = "sk-e2e-valid-key"


def eventually(check: Callable[[], T | None], what: str, *, timeout: float = WAIT_SECONDS) -> T:
    """Poll ``check`` until it returns something truthy (returned); fail after ``timeout``."""
    deadline = time.monotonic() + timeout
    last: T | None = None
    while time.monotonic() < deadline:
        last = check()
        if last:
            return last
        time.sleep(POLL_SECONDS)
    raise AssertionError(f"not true after {timeout:.0f}s: {what} (last seen: {last!r})")


async def eventually_async(check: Callable[[], Awaitable[bool]], what: str) -> None:
    """:func:`eventually` for an async check (within :data:`WAIT_SECONDS`)."""
    deadline = time.monotonic() + WAIT_SECONDS
    while time.monotonic() < deadline:
        if await check():
            return
        await asyncio.sleep(POLL_SECONDS)
    raise AssertionError(f"not true after {WAIT_SECONDS:.0f}s: {what}")


def never(check: Callable[[], bool], what: str, *, for_seconds: float) -> None:
    """Assert ``check`` stays false for ``for_seconds``."""
    deadline = time.monotonic() + for_seconds
    while time.monotonic() < deadline:
        assert not check(), f"unexpectedly: {what}"
        time.sleep(POLL_SECONDS)


@dataclass
class OperatorProcess:
    """``kopf run -m ragline_operator.main`` as a local process under the ServiceAccount token."""

    kubeconfig: Path
    log: Path
    settings: Mapping[str, str] = field(default_factory=dict)
    proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        """Start and wait until Kopf reports itself alive."""
        self.proc = start_operator(
            kubeconfig=self.kubeconfig,
            log=self.log,
            liveness_port=procs.free_port(),
            settings={**E2E_SETTINGS, **self.settings},
        )

    def stop(self) -> None:
        """SIGTERM, and wait until it has exited."""
        if self.proc is not None:
            procs.stop(self.proc.pid)
            self.proc = None

    def kill(self) -> None:
        """SIGKILL: no cleanup handlers, no goodbye (a crash, an OOM kill)."""
        if self.proc is not None:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait()
            procs.stop(self.proc.pid)  # reaps and forgets it
            self.proc = None

    def tail(self, lines: int = 60) -> str:
        """The end of the operator's log."""
        return procs.log_tail(self.log, lines)


def resource(kube: Kubectl, kind: str, name: str, namespace: str) -> dict[str, Any] | None:
    """An object, or None if it does not exist."""
    result = kube.run("get", kind, name, "-n", namespace, "-o", "json")
    if result.returncode != 0:
        if "NotFound" in result.stderr:
            return None
        raise AssertionError(result.stderr)
    found: dict[str, Any] = json.loads(result.stdout)
    return found


def items(kube: Kubectl, kind: str, namespace: str, *selector: str) -> list[dict[str, Any]]:
    """Objects of a kind in a namespace (optionally ``-l selector``)."""
    args = ["get", kind, "-n", namespace, *(["-l", ",".join(selector)] if selector else [])]
    found: list[dict[str, Any]] = kube.json(*args).get("items") or []
    return found


def conditions(obj: Mapping[str, Any] | None) -> dict[str, dict[str, Any]]:
    """Conditions by type."""
    return {c["type"]: c for c in ((obj or {}).get("status") or {}).get("conditions") or []}


def ready(kube: Kubectl, kind: str, name: str, namespace: str) -> dict[str, Any] | None:
    """The object when its Ready condition is True for its current generation."""
    obj = resource(kube, kind, name, namespace)
    return obj if obj is not None and is_ready(obj) else None


def condition_is(
    kube: Kubectl, kind: str, name: str, namespace: str, type_: str, status: str
) -> dict[str, Any] | None:
    """The condition ``type_`` when it has ``status`` (None otherwise)."""
    condition = conditions(resource(kube, kind, name, namespace)).get(type_)
    return condition if condition is not None and condition["status"] == status else None


def pods_ready(kube: Kubectl, namespace: str, *selector: str) -> list[dict[str, Any]] | None:
    """The selected serving pods when there are some and all are Running and Ready.

    Job pods that completed and pods on their way out (a finished rollout) are not counted.
    """
    pods = [
        p
        for p in items(kube, "pods", namespace, *selector)
        if p["status"].get("phase") != "Succeeded" and not p["metadata"].get("deletionTimestamp")
    ]
    running = [p for p in pods if p["status"].get("phase") == "Running"]
    if not pods or len(running) != len(pods):
        return None
    ok = all(
        any(c["type"] == "Ready" and c["status"] == "True" for c in p["status"]["conditions"])
        for p in running
    )
    return pods if ok else None


def events(kube: Kubectl, namespace: str, reason: str) -> list[dict[str, Any]]:
    """Events of a reason in a namespace."""
    return [e for e in items(kube, "events", namespace) if e.get("reason") == reason]


@dataclass(frozen=True)
class Backends:
    """Where the real servers are, as the samples' Secrets should say."""

    dsn: str
    redis_url: str
    kafka_bootstrap: str = ""
    llm_url: str = ""

    def secret_values(self) -> dict[str, dict[str, str]]:
        """Secret name → key → value for the samples."""
        values = {"ragline-postgres": {"dsn": self.dsn}, "ragline-redis": {"url": self.redis_url}}
        if self.kafka_bootstrap:
            values["ragline-kafka"] = {"bootstrap": self.kafka_bootstrap}
        values["ragline-llm"] = {"apiKey": LLM_KEY}
        return values


def stream_name(namespace: str) -> str:
    """The samples' stream/topic name made unique per test namespace (they share the brokers)."""
    return f"ragline.orders.{namespace}"


def samples(backends: Backends, namespace: str, *, kafka: bool = False) -> list[dict[str, Any]]:
    """The samples as a test applies them: real backends, per-namespace stream names."""
    documents = []
    for document in sample_resources(kafka=kafka):
        doc = copy.deepcopy(document)
        backend = doc.get("spec", {}).get("backend", {})
        for block, key in (("redis", "stream"), ("kafka", "topic")):
            if block in backend:
                backend[block][key] = stream_name(namespace)
        llm = doc.get("spec", {}).get("llm")
        if llm is not None and backends.llm_url:
            llm["baseURL"] = backends.llm_url
        documents.append(doc)
    return [*sample_secrets(backends.secret_values()), *documents]


def apply_samples(
    kube: Kubectl, backends: Backends, namespace: str, *, kafka: bool = False
) -> list[dict[str, Any]]:
    """Apply the samples into ``namespace``; returns the custom resources among them."""
    documents = samples(backends, namespace, kafka=kafka)
    kube.apply(*documents, namespace=namespace)
    return [d for d in documents if str(d["apiVersion"]).startswith("ragline.dev/")]


def all_ready(kube: Kubectl, namespace: str, custom: list[dict[str, Any]]) -> bool:
    """Every custom resource in ``custom`` is Ready."""
    return all(ready(kube, d["kind"], d["metadata"]["name"], namespace) is not None for d in custom)


class _FakeModels(BaseHTTPRequestHandler):
    """``GET /v1/models`` of an OpenAI-compatible server that wants :data:`LLM_KEY`."""

    def do_GET(self) -> None:
        if self.path.rstrip("/") != "/v1/models":
            self.send_error(404)
            return
        if self.headers.get("Authorization") != f"Bearer {LLM_KEY}":
            self.send_error(401)
            return
        body = json.dumps({"object": "list", "data": [{"id": "tiny", "object": "model"}]})
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        self.wfile.write(body.encode())

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet."""


@contextlib.contextmanager
def fake_llm() -> Iterator[str]:
    """A fake OpenAI-compatible endpoint on 127.0.0.1; yields its base URL."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), _FakeModels)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/v1"
    finally:
        server.shutdown()
        server.server_close()
        thread.join()
