"""Pytest fixtures for the real local infrastructure: one server of each kind per test session.

Parts start on first use. ``RAGLINE_TEST_STACK_DIR`` points the session at a stack directory
instead of a temporary one; parts already running there are reused and left running, which makes
repeated local runs start in no time. When a test that used a part fails, the tail of that part's
logs is attached to the report.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import tempfile
import uuid
from collections.abc import Generator, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from ragline_dev import procs
from ragline_dev.infra import Part, PartState, Stack
from ragline_dev.infra.kafka import Kafka
from ragline_dev.infra.kube import KubeControlPlane, Kubectl
from ragline_dev.infra.postgres import Postgres, bin_dir
from ragline_dev.infra.valkey import Valkey

_USED_PARTS = pytest.StashKey[set[str]]()


@dataclass
class LocalInfra:
    """The session's parts, each started the first time a test asks for it."""

    root: Path
    parts: dict[str, Part]
    stacks: dict[str, Stack] = field(default_factory=dict)

    def ensure(self, name: str) -> PartState:
        """Start the part ``name`` unless it runs already; return its state."""
        if name not in self.stacks:
            stack = Stack(root=self.root, parts=[self.parts[name]])
            stack.up()
            self.stacks[name] = stack
        return self.stacks[name].states[name]

    def logs(self, names: set[str]) -> dict[str, str]:
        """Return the log tails of the named parts that were started."""
        tails: dict[str, str] = {}
        for name in sorted(names & set(self.stacks)):
            for log in self.stacks[name].states[name].logs:
                tails[log] = procs.log_tail(Path(log))
        return tails

    def close(self) -> None:
        """Stop what this session started."""
        for stack in reversed(list(self.stacks.values())):
            stack.close()


@pytest.fixture(scope="session")
def local_infra() -> Iterator[LocalInfra]:
    """The session's local infrastructure (started lazily, stopped at the end)."""
    configured = os.environ.get("RAGLINE_TEST_STACK_DIR")
    root = Path(configured) if configured else Path(tempfile.mkdtemp(prefix="ragline-test-"))
    infra = LocalInfra(
        root=root,
        parts={
            "postgres": Postgres(durable=False),
            "valkey": Valkey(durable=False),
            "kafka": Kafka(),
            "kube": KubeControlPlane(),
        },
    )
    try:
        yield infra
    finally:
        infra.close()
        if not configured:
            shutil.rmtree(root, ignore_errors=True)


def _use(request: pytest.FixtureRequest, infra: LocalInfra, name: str) -> PartState:
    request.node.stash.setdefault(_USED_PARTS, set()).add(name)
    return infra.ensure(name)


@pytest.fixture
def postgres(request: pytest.FixtureRequest, local_infra: LocalInfra) -> PartState:
    """The session's PostgreSQL server (database ``ragline``, ``vector`` installed)."""
    return _use(request, local_infra, "postgres")


@pytest.fixture
def fresh_database(postgres: PartState, request: pytest.FixtureRequest) -> Iterator[str]:
    """A new, empty database with ``vector`` installed, dropped after the test; yields its DSN."""
    slug = re.sub(r"[^a-z0-9]+", "_", request.node.name.lower())[:40]
    name = f"t_{slug}_{uuid.uuid4().hex[:8]}"
    port = str(postgres.ports["postgres"])
    psql = [
        str(bin_dir() / "psql"),
        "-h",
        "127.0.0.1",
        "-p",
        port,
        "-U",
        "postgres",
        "-v",
        "ON_ERROR_STOP=1",
        "-qc",
    ]
    subprocess.run([*psql, f'CREATE DATABASE "{name}"'], check=True, capture_output=True)
    subprocess.run([*psql, "CREATE EXTENSION vector", "-d", name], check=True, capture_output=True)
    yield f"postgresql://postgres@127.0.0.1:{port}/{name}"
    subprocess.run([*psql, f'DROP DATABASE "{name}" WITH (FORCE)'], check=True, capture_output=True)


@pytest.fixture
def redis_url(request: pytest.FixtureRequest, local_infra: LocalInfra) -> str:
    """The URL of the session's Valkey server."""
    return _use(request, local_infra, "valkey").endpoints["url"]


@pytest.fixture
def kafka_bootstrap(request: pytest.FixtureRequest, local_infra: LocalInfra) -> str:
    """The bootstrap address of the session's Kafka node."""
    return _use(request, local_infra, "kafka").endpoints["bootstrap"]


@pytest.fixture
def kube(request: pytest.FixtureRequest, local_infra: LocalInfra) -> Kubectl:
    """kubectl as cluster-admin of the session's real local control plane."""
    return Kubectl.for_state(_use(request, local_infra, "kube"))


@pytest.fixture
def helm(request: pytest.FixtureRequest, local_infra: LocalInfra) -> str:
    """The path of the pinned helm binary (use it with the ``kube`` fixture's kubeconfig)."""
    return _use(request, local_infra, "kube").endpoints["helm"]


@pytest.fixture
def namespace(kube: Kubectl, request: pytest.FixtureRequest) -> Iterator[str]:
    """A namespace of its own for one test, deleted afterwards (without waiting)."""
    slug = re.sub(r"[^a-z0-9]+", "-", request.node.name.lower()).strip("-")[:40].strip("-")
    name = f"t-{slug}-{uuid.uuid4().hex[:6]}"
    kube.check("create", "namespace", name)
    yield name
    kube.run("delete", "namespace", name, "--wait=false")


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    """Attach the logs of the parts a failed test used."""
    report: pytest.TestReport = yield
    used = item.stash.get(_USED_PARTS, set())
    if report.failed and used:
        infra = item.funcargs.get("local_infra") if hasattr(item, "funcargs") else None
        if isinstance(infra, LocalInfra):
            for log, tail in infra.logs(used).items():
                report.sections.append((f"log {log}", tail))
    return report
