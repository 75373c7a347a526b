"""Starting and stopping local server processes so that none outlives its owner.

Every server runs in its own session (so a terminal's Ctrl-C reaches only the owner, which then
stops the servers in order) with its output in a log file. Servers tied to their owner also get a
parent-death signal: if the owner is killed outright, the kernel ends them too.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import pwd
import signal
import socket
import subprocess
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

_PR_SET_PDEATHSIG = 1
# How long a server gets between its polite stop signal and SIGKILL.
STOP_GRACE_SECONDS = 15.0
# Children we started, kept so they are waited for (no zombies, no ResourceWarning).
_children: dict[int, subprocess.Popen[bytes]] = {}


class StartError(RuntimeError):
    """A server did not come up; the message carries the tail of its log."""


def free_port() -> int:
    """Return a TCP port on 127.0.0.1 that is free right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def port_open(port: int, host: str = "127.0.0.1") -> bool:
    """Tell whether something accepts TCP connections on ``host:port``."""
    try:
        with socket.create_connection((host, port), timeout=0.5):
            return True
    except OSError:
        return False


def as_user(user: str | None) -> dict[str, Any]:
    """Return ``subprocess`` arguments that run a child as ``user`` with that user's own group.

    ``user=`` alone keeps root's group, whose (usually closed) group bits then decide access.
    """
    if user is None:
        return {}
    entry = pwd.getpwnam(user)
    return {"user": entry.pw_uid, "group": entry.pw_gid, "extra_groups": []}


def _die_with_parent(sig: int) -> Callable[[], None]:
    def apply() -> None:
        libc = ctypes.CDLL("libc.so.6", use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, sig)

    return apply


def spawn(
    argv: Sequence[str | os.PathLike[str]],
    *,
    log: Path,
    env: Mapping[str, str] | None = None,
    cwd: Path | None = None,
    user: str | None = None,
    tie_to_parent: bool = True,
    parent_death_signal: int = signal.SIGTERM,
) -> subprocess.Popen[bytes]:
    """Start ``argv`` in a new session with stdout and stderr appended to ``log``."""
    log.parent.mkdir(parents=True, exist_ok=True)
    full_env = {**os.environ, **(env or {})}
    with log.open("ab") as out:
        proc = subprocess.Popen(
            [os.fspath(a) for a in argv],
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            env=full_env,
            cwd=cwd,
            **as_user(user),
            start_new_session=True,
            preexec_fn=_die_with_parent(parent_death_signal) if tie_to_parent else None,  # noqa: PLW1509
        )
    _children[proc.pid] = proc
    return proc


def alive(pid: int) -> bool:
    """Tell whether ``pid`` is a live (not zombie) process."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    # The state letter follows the parenthesised command name, which may itself hold spaces.
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


def _wait_gone(pid: int, child: subprocess.Popen[bytes] | None, timeout: float) -> bool:
    """Wait until ``pid`` has exited (and reap it if it is our child)."""
    if child is not None:
        try:
            child.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            return False
        return True
    # Not our child (a detached stack started by another process): poll until it is gone.
    deadline = time.monotonic() + timeout
    while alive(pid):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True


def stop(pid: int, *, sig: int = signal.SIGTERM, grace: float = STOP_GRACE_SECONDS) -> None:
    """Stop the process group led by ``pid``: ``sig`` first, SIGKILL after ``grace`` seconds."""
    child = _children.pop(pid, None)
    if alive(pid):
        with contextlib.suppress(ProcessLookupError):
            os.killpg(pid, sig)
        if not _wait_gone(pid, child, grace):
            with contextlib.suppress(ProcessLookupError):
                os.killpg(pid, signal.SIGKILL)
            _wait_gone(pid, child, grace)
    elif child is not None:
        child.wait()
    # Whatever else the group holds goes too, so helpers a server forked cannot linger.
    with contextlib.suppress(ProcessLookupError):
        os.killpg(pid, signal.SIGKILL)


def log_tail(log: Path, lines: int = 40) -> str:
    """Return the last ``lines`` lines of a log file, or a note that it is empty."""
    try:
        text = log.read_text(errors="replace")
    except OSError:
        return f"(no log at {log})"
    return "\n".join(text.splitlines()[-lines:]) or f"(empty log at {log})"


def wait_until(
    check: Callable[[], bool],
    *,
    what: str,
    timeout: float,
    proc: subprocess.Popen[bytes] | None = None,
    log: Path | None = None,
    interval: float = 0.1,
) -> None:
    """Poll ``check`` until it holds; fail early if ``proc`` exits, with the log's tail."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        if proc is not None and proc.poll() is not None:
            tail = log_tail(log) if log else ""
            raise StartError(f"{what}: process exited with {proc.returncode}\n{tail}")
        time.sleep(interval)
    tail = log_tail(log) if log else ""
    raise StartError(f"{what}: not ready after {timeout:.0f}s\n{tail}")
