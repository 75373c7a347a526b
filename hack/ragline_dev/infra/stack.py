"""A stack: the ordered parts sharing one directory, started together and stopped in reverse."""

from __future__ import annotations

import atexit
import contextlib
import shutil
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType

from ragline_dev import procs
from ragline_dev.infra.base import Part, PartState
from ragline_dev.infra.kafka import Kafka
from ragline_dev.infra.kube import KubeControlPlane
from ragline_dev.infra.postgres import Postgres
from ragline_dev.infra.valkey import Valkey
from ragline_dev.progress import say, step


def default_parts(*, durable: bool = True, kafka: bool = True, kube: bool = True) -> list[Part]:
    """Return the infrastructure parts in start order."""
    parts: list[Part] = [Postgres(durable=durable), Valkey(durable=durable)]
    if kafka:
        parts.append(Kafka())
    if kube:
        parts.append(KubeControlPlane())
    return parts


@dataclass
class PartStatus:
    """What ``ragline status`` says of one part."""

    name: str
    running: bool
    healthy: bool
    state: PartState | None


@dataclass
class Stack:
    """Parts that live in ``root``; ``up`` reuses healthy ones and starts the rest.

    ``tie_to_parent`` makes the servers die with this process even if it is killed outright; a
    detached stack (``ragline up --detach``) outlives it until ``ragline down``.
    """

    root: Path
    parts: Sequence[Part]
    tie_to_parent: bool = True
    states: dict[str, PartState] = field(default_factory=dict)
    _owned: list[PartState] = field(default_factory=list)

    def workdir(self, name: str) -> Path:
        """Return (and create) the folder of one part."""
        folder = self.root / name
        folder.mkdir(parents=True, exist_ok=True)
        return folder

    def install(self) -> None:
        """Install every part (cached)."""
        for part in self.parts:
            part.install()

    def up(self) -> dict[str, PartState]:
        """Ensure every part runs and is healthy; return their states by name."""
        atexit.register(self.close)
        try:
            for part in self.parts:
                self.states[part.name] = self._ensure(part)
        except BaseException:
            self.close()
            raise
        return dict(self.states)

    def _ensure(self, part: Part) -> PartState:
        workdir = self.workdir(part.name)
        previous = PartState.load(workdir)
        if previous is not None and previous.processes_alive():
            if part.healthy(previous):
                say(f"{part.name}: reusing the one already running (pid {previous.pids[0]})")
                return previous
            say(f"{part.name}: running but unhealthy; restarting it")
            previous.stop()
        part.install()
        with step(f"Starting {part.name}"):
            state = part.start(workdir, tie_to_parent=self.tie_to_parent, previous=previous)
        state.save(workdir)
        self._owned.append(state)
        return state

    def release(self) -> None:
        """Leave the started parts running after this process (a detached stack)."""
        self._owned.clear()

    def close(self) -> None:
        """Stop the parts this stack started (not the ones it reused), last first."""
        while self._owned:
            state = self._owned.pop()
            state.stop()

    def __enter__(self) -> Stack:
        self.up()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def status(self) -> list[PartStatus]:
        """Describe every part that has a state in this stack's directory."""
        result = []
        for part in self.parts:
            state = (
                PartState.load(self.root / part.name) if (self.root / part.name).exists() else None
            )
            running = state is not None and state.processes_alive()
            healthy = running and state is not None and part.healthy(state)
            result.append(PartStatus(part.name, running, healthy, state))
        return result

    def down(self) -> None:
        """Stop every part recorded in this directory, whoever started it."""
        for status in reversed(self.status()):
            if status.state is not None and status.running:
                with step(f"Stopping {status.name}"):
                    status.state.stop()

    def logs(self) -> dict[str, str]:
        """Return the tail of every log of every part, for a failing test or ``make up``."""
        tails = {}
        for status in self.status():
            if status.state is None:
                continue
            for log in status.state.logs:
                tails[log] = procs.log_tail(Path(log))
        return tails

    def destroy(self) -> None:
        """Stop everything and delete the directory with its data."""
        self.down()
        with contextlib.suppress(FileNotFoundError):
            shutil.rmtree(self.root)
