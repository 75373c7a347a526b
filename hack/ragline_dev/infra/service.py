"""RAGline's own services as local processes: ``python -m ragline_<name>`` on 127.0.0.1.

A service part finds the parts it depends on through their state files beside its own folder in the
stack directory, derives its environment (settings) from their endpoints, runs an optional
preparation step (migrations, seed data), then starts and waits for ``/healthz``.
"""

from __future__ import annotations

import http.client
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from ragline_dev import procs
from ragline_dev.infra.base import PartState, pick_port

START_TIMEOUT_SECONDS = 60.0

# (the service's folder, its dependencies' states, its port) → environment variables.
EnvFactory = Callable[[Path, Mapping[str, PartState], int], dict[str, str]]
Prepare = Callable[[Path, Mapping[str, PartState]], None]


def http_ok(port: int, path: str = "/healthz") -> bool:
    """Tell whether ``GET http://127.0.0.1:port/path`` answers 200."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=2.0)
    try:
        connection.request("GET", path)
        return connection.getresponse().status == 200
    except OSError:
        return False
    finally:
        connection.close()


@dataclass
class ServicePart:
    """One RAGline service run from this checkout's environment."""

    name: str
    module: str
    env: EnvFactory
    depends_on: tuple[str, ...] = ()
    prepare: Prepare | None = None
    args: Callable[[int], list[str]] = field(default=lambda port: [])
    after_start: Callable[[Path, PartState], None] | None = None

    def install(self) -> None:
        """Nothing to install: the service runs from the project's environment."""

    def _dependencies(self, workdir: Path) -> dict[str, PartState]:
        found: dict[str, PartState] = {}
        for name in self.depends_on:
            state = PartState.load(workdir.parent / name)
            if state is None or not state.processes_alive():
                raise procs.StartError(f"{self.name} needs {name}, which is not running")
            found[name] = state
        return found

    def start(self, workdir: Path, *, tie_to_parent: bool, previous: PartState | None) -> PartState:
        """Prepare, start the service and wait until ``/healthz`` answers."""
        dependencies = self._dependencies(workdir)
        if self.prepare is not None:
            self.prepare(workdir, dependencies)
        port = pick_port(previous, "http")
        log = workdir / f"{self.name}.log"
        proc = procs.spawn(
            [sys.executable, "-m", self.module, *self.args(port)],
            log=log,
            env=self.env(workdir, dependencies, port),
            cwd=workdir,
            tie_to_parent=tie_to_parent,
        )
        state = PartState(
            name=self.name,
            pids=[proc.pid],
            endpoints={"url": f"http://127.0.0.1:{port}"},
            logs=[str(log)],
            ports={"http": port},
        )
        procs.wait_until(
            lambda: self.healthy(state),
            what=self.name,
            timeout=START_TIMEOUT_SECONDS,
            proc=proc,
            log=log,
        )
        if self.after_start is not None:
            self.after_start(workdir, state)
        return state

    def healthy(self, state: PartState) -> bool:
        """``/healthz`` answers 200."""
        return http_ok(state.ports["http"])
