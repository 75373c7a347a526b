"""Kafka 4 in KRaft mode, one combined broker+controller node, from Maven Central jars.

``hack/kafka/pom.xml`` pins the broker; Maven copies it and its runtime dependencies into the user
cache (keyed by the pom's content), and that folder is the JVM's classpath.
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import subprocess
import uuid
from dataclasses import dataclass
from pathlib import Path

from ragline_dev import paths, procs
from ragline_dev.infra.base import PartState, pick_port
from ragline_dev.progress import step

POM = paths.HACK_DIR / "kafka" / "pom.xml"
START_TIMEOUT_SECONDS = 120.0
STARTED_MARKER = "Kafka Server started"
HEAP = "-Xmx512m"
# The broker runs ZGC: with the serial collector its young collections paused it 30-55 ms every
# few seconds under a steady 200 events/s, and those pauses were the whole p99 of the pipeline's
# latency (52 ms; 22 ms with ZGC, whose pauses stay under a millisecond). One-shot tools (the
# storage format) keep the serial collector, the cheapest to start.
BROKER_GC = "-XX:+UseZGC"
TOOL_GC = "-XX:+UseSerialGC"

_LOG4J2 = """\
status = warn
appender.file.type = File
appender.file.name = file
appender.file.fileName = {log}
appender.file.layout.type = PatternLayout
appender.file.layout.pattern = [%d] %p %m (%c)%n
rootLogger.level = info
rootLogger.appenderRef.file.ref = file
logger.kafka.name = kafka
logger.kafka.level = info
logger.apache.name = org.apache.kafka
logger.apache.level = warn
logger.raft.name = org.apache.kafka.raft
logger.raft.level = warn
"""


def kafka_version() -> str:
    """Return the Kafka version the pom pins."""
    match = re.search(r"<kafka.version>([^<]+)</kafka.version>", POM.read_text())
    if match is None:
        raise RuntimeError(f"{POM} does not pin kafka.version")
    return match.group(1)


def libs_dir() -> Path:
    """Return the cached classpath folder for the pinned pom."""
    digest = hashlib.sha256(POM.read_bytes()).hexdigest()[:10]
    return paths.cache_dir() / f"kafka-{kafka_version()}-{digest}" / "libs"


def java() -> str:
    """Return the Java 17+ launcher: ``JAVA_HOME``'s, else the one on PATH."""
    home = os.environ.get("JAVA_HOME")
    if home and (Path(home) / "bin" / "java").exists():
        return str(Path(home) / "bin" / "java")
    found = shutil.which("java")
    if found is None:
        raise RuntimeError("Kafka needs Java 17 or later on PATH (or JAVA_HOME)")
    return found


def _server_properties(*, data: Path, broker: int, controller: int) -> str:
    return "\n".join(
        [
            "process.roles=broker,controller",
            "node.id=1",
            f"controller.quorum.bootstrap.servers=127.0.0.1:{controller}",
            f"listeners=PLAINTEXT://127.0.0.1:{broker},CONTROLLER://127.0.0.1:{controller}",
            f"advertised.listeners=PLAINTEXT://127.0.0.1:{broker}",
            "listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT",
            "controller.listener.names=CONTROLLER",
            "inter.broker.listener.name=PLAINTEXT",
            f"log.dirs={data}",
            "num.partitions=1",
            # One node: every internal topic must live with a single replica.
            "offsets.topic.replication.factor=1",
            "offsets.topic.num.partitions=4",
            "transaction.state.log.replication.factor=1",
            "transaction.state.log.min.isr=1",
            "share.coordinator.state.topic.replication.factor=1",
            "share.coordinator.state.topic.min.isr=1",
            "min.insync.replicas=1",
            # Tests join groups constantly; the default 3 s wait would dominate their time.
            "group.initial.rebalance.delay.ms=0",
            "num.network.threads=2",
            "num.io.threads=2",
            "background.threads=2",
            "log.retention.hours=24",
            "auto.create.topics.enable=true",
            "",
        ]
    )


@dataclass
class Kafka:
    """One Kafka node in KRaft mode on 127.0.0.1."""

    name: str = "kafka"

    def install(self) -> None:
        """Copy the pinned jars into the cache unless they are already there."""
        target = libs_dir()
        if (target / ".complete").exists():
            return
        with step(f"Fetching Kafka {kafka_version()} jars into {target}"):
            partial = target.with_name("libs.partial")
            shutil.rmtree(partial, ignore_errors=True)
            subprocess.run(
                [
                    "mvn",
                    "-B",
                    "-q",
                    "-f",
                    str(POM),
                    "dependency:copy-dependencies",
                    "-DincludeScope=runtime",
                    f"-DoutputDirectory={partial}",
                ],
                check=True,
            )
            shutil.rmtree(target, ignore_errors=True)
            partial.rename(target)
            (target / ".complete").touch()

    def _java(self, main: str, *args: str, workdir: Path, gc: str = TOOL_GC) -> list[str]:
        return [
            java(),
            HEAP,
            gc,
            "-Djava.awt.headless=true",
            f"-Dlog4j2.configurationFile={workdir / 'log4j2.properties'}",
            "-cp",
            f"{libs_dir()}/*",
            main,
            *args,
        ]

    def start(self, workdir: Path, *, tie_to_parent: bool, previous: PartState | None) -> PartState:
        """Format the storage once, then start the node and wait for it to serve."""
        data = workdir / "data"
        log = workdir / "kafka.log"
        broker = pick_port(previous, "broker")
        controller = pick_port(previous, "controller")
        while controller == broker:
            controller = procs.free_port()
        config = workdir / "server.properties"
        config.write_text(_server_properties(data=data, broker=broker, controller=controller))
        (workdir / "log4j2.properties").write_text(_LOG4J2.format(log=log))
        if not (data / "meta.properties").exists():
            shutil.rmtree(data, ignore_errors=True)
            format_log = workdir / "format.log"
            with format_log.open("ab") as out:
                subprocess.run(
                    self._java(
                        "kafka.tools.StorageTool",
                        "format",
                        "--standalone",
                        "-t",
                        str(uuid.uuid4()),
                        "-c",
                        str(config),
                        workdir=workdir,
                    ),
                    check=True,
                    stdout=out,
                    stderr=subprocess.STDOUT,
                )
        offset = log.stat().st_size if log.exists() else 0
        stdout_log = workdir / "kafka.stdout.log"
        proc = procs.spawn(
            self._java("kafka.Kafka", str(config), workdir=workdir, gc=BROKER_GC),
            log=stdout_log,
            tie_to_parent=tie_to_parent,
        )
        state = PartState(
            name=self.name,
            pids=[proc.pid],
            endpoints={"bootstrap": f"127.0.0.1:{broker}"},
            logs=[str(log), str(stdout_log)],
            ports={"broker": broker, "controller": controller},
        )

        def started() -> bool:
            try:
                with log.open("rb") as handle:
                    handle.seek(offset)
                    return STARTED_MARKER.encode() in handle.read()
            except OSError:
                return False

        procs.wait_until(started, what="Kafka", timeout=START_TIMEOUT_SECONDS, proc=proc, log=log)
        return state

    def healthy(self, state: PartState) -> bool:
        """The broker listener accepts connections."""
        return procs.port_open(state.ports["broker"])
