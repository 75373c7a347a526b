"""What every local infrastructure part provides, and the state it leaves in its directory."""

from __future__ import annotations

import json
import signal
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Protocol

from ragline_dev import procs

STATE_FILE = "state.json"


@dataclass
class PartState:
    """A running part as recorded on disk, so another process can find, reuse or stop it."""

    name: str
    pids: list[int]
    endpoints: dict[str, str]
    logs: list[str]
    stop_signal: int = int(signal.SIGTERM)
    ports: dict[str, int] = field(default_factory=dict)

    def save(self, workdir: Path) -> None:
        """Write the state next to the part's data."""
        (workdir / STATE_FILE).write_text(json.dumps(asdict(self), indent=2))

    @classmethod
    def load(cls, workdir: Path) -> PartState | None:
        """Read the state a previous start left, if any."""
        path = workdir / STATE_FILE
        if not path.exists():
            return None
        return cls(**json.loads(path.read_text()))

    def processes_alive(self) -> bool:
        """Tell whether every process of the part still runs."""
        return bool(self.pids) and all(procs.alive(pid) for pid in self.pids)

    def stop(self) -> None:
        """Stop the part's processes, the last started first."""
        for pid in reversed(self.pids):
            procs.stop(pid, sig=self.stop_signal)


class Part(Protocol):
    """A local server the stack can install, start, check and reuse."""

    name: str

    def install(self) -> None:
        """Make the binaries available; cheap when they already are."""

    def start(self, workdir: Path, *, tie_to_parent: bool, previous: PartState | None) -> PartState:
        """Start the server with its data in ``workdir`` and wait until it serves.

        ``previous`` is the state of an earlier run in the same directory: a part may reuse its
        ports so that connection strings stay the same across restarts.
        """
        ...

    def healthy(self, state: PartState) -> bool:
        """Tell whether the server described by ``state`` answers."""
        ...


def pick_port(previous: PartState | None, key: str) -> int:
    """Reuse the port an earlier run had for ``key`` when it is free, else take a free one."""
    if previous is not None and key in previous.ports and not procs.port_open(previous.ports[key]):
        return previous.ports[key]
    return procs.free_port()
