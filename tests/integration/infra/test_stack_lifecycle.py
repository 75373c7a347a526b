"""The infrastructure manager starts, reuses and stops parts, and never leaves an orphan."""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from ragline_dev import procs

pytestmark = pytest.mark.integration

CLI = [sys.executable, "-m", "ragline_dev.cli"]
BOUNDED_WAIT_SECONDS = 60.0


def ragline(stack: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*CLI, "--stack-dir", str(stack), "--no-kafka", "--no-kube", "--infra-only", *args],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def status(stack: Path) -> dict[str, Any]:
    result = ragline(stack, "status", "--json")
    parts: dict[str, Any] = json.loads(result.stdout)["parts"]
    return parts


def server_pids(stack: Path) -> list[int]:
    pids = []
    for name in ("postgres", "valkey"):
        state = json.loads((stack / name / "state.json").read_text())
        pids += state["pids"]
    return pids


def wait_for(check: Any, what: str) -> None:
    deadline = time.monotonic() + BOUNDED_WAIT_SECONDS
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.1)
    raise AssertionError(f"not true after {BOUNDED_WAIT_SECONDS:.0f}s: {what}")


def test_detached_stack_is_reused_then_stopped_by_down(tmp_path: Path) -> None:
    stack = tmp_path / "stack"
    first = ragline(stack, "up", "--detach")
    assert first.returncode == 0, first.stderr
    parts = status(stack)
    assert parts["postgres"]["healthy"]
    assert parts["valkey"]["healthy"]
    assert parts["postgres"]["endpoints"]["dsn"].startswith("postgresql://postgres@127.0.0.1:")
    assert parts["valkey"]["endpoints"]["url"].startswith("redis://127.0.0.1:")
    pids = server_pids(stack)

    second = ragline(stack, "up", "--detach")
    assert second.returncode == 0, second.stderr
    assert "reusing" in second.stderr
    assert server_pids(stack) == pids

    assert ragline(stack, "down").returncode == 0
    assert not any(procs.alive(pid) for pid in pids)
    parts = status(stack)
    assert not parts["postgres"]["running"]
    assert not parts["valkey"]["running"]
    # The data stays: a new `up` finds the database it made before.
    assert (stack / "postgres" / "data" / "PG_VERSION").exists()


def start_foreground(stack: Path) -> subprocess.Popen[str]:
    proc = subprocess.Popen(
        [*CLI, "--stack-dir", str(stack), "--no-kafka", "--no-kube", "--infra-only", "up"],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    wait_for(
        lambda: (stack / "valkey" / "state.json").exists() and status(stack)["valkey"]["healthy"],
        "the foreground stack is up",
    )
    return proc


def test_ctrl_c_stops_everything(tmp_path: Path) -> None:
    stack = tmp_path / "stack"
    proc = start_foreground(stack)
    pids = server_pids(stack)
    proc.send_signal(signal.SIGINT)
    output, _ = proc.communicate(timeout=BOUNDED_WAIT_SECONDS)
    assert proc.returncode == 0, output
    assert "Stopping" in output
    assert not any(procs.alive(pid) for pid in pids)


def test_killed_owner_leaves_no_orphan(tmp_path: Path) -> None:
    stack = tmp_path / "stack"
    proc = start_foreground(stack)
    pids = server_pids(stack)
    os.kill(proc.pid, signal.SIGKILL)
    proc.communicate(timeout=BOUNDED_WAIT_SECONDS)
    wait_for(lambda: not any(procs.alive(pid) for pid in pids), "every server died with its owner")


def test_a_dead_part_is_restarted_on_the_next_up(tmp_path: Path) -> None:
    stack = tmp_path / "stack"
    assert ragline(stack, "up", "--detach").returncode == 0
    try:
        valkey_pid = json.loads((stack / "valkey" / "state.json").read_text())["pids"][0]
        procs.stop(valkey_pid)
        assert ragline(stack, "status").returncode == 1

        again = ragline(stack, "up", "--detach")
        assert again.returncode == 0, again.stderr
        assert status(stack)["valkey"]["healthy"]
        assert json.loads((stack / "valkey" / "state.json").read_text())["pids"][0] != valkey_pid
    finally:
        ragline(stack, "down")
