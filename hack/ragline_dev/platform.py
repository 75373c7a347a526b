"""The whole local platform: infrastructure first, then RAGline's services on top of it.

``ragline up`` starts these parts in order. Each service reads its dependencies' endpoints from the
stack directory, so a service can be restarted alone while the infrastructure keeps running.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path

from ragline_dev import dev_tenants, procs
from ragline_dev.infra import Part, PartState, default_parts
from ragline_dev.infra.service import ServicePart
from ragline_dev.operator_part import OperatorPart

TENANTS_DIR = "tenants"


def tenants_dir(workdir: Path) -> Path:
    """The dev tenant registry and keys of the stack that ``workdir`` belongs to."""
    return workdir.parent / TENANTS_DIR


def _api_env(workdir: Path, deps: Mapping[str, PartState], port: int) -> dict[str, str]:
    return dev_tenants.api_environment(
        database_url=deps["postgres"].endpoints["dsn"],
        redis_url=deps["valkey"].endpoints["url"],
        directory=tenants_dir(workdir),
    )


def run_step(argv: list[str], *, env: Mapping[str, str], log: Path, what: str) -> None:
    """Run a preparation command with its output in ``log``; fail with the log's tail."""
    with log.open("ab") as out:
        result = subprocess.run(
            argv,
            env={**os.environ, **env},
            stdout=out,
            stderr=subprocess.STDOUT,
            check=False,
            timeout=300,
        )
    if result.returncode != 0:
        raise procs.StartError(
            f"{what} failed (exit {result.returncode}), see {log}:\n{procs.log_tail(log)}"
        )


def _api_prepare(workdir: Path, deps: Mapping[str, PartState]) -> None:
    dev_tenants.write_dev_tenants(tenants_dir(workdir))
    run_step(
        [sys.executable, "-m", "ragline_api", "migrate"],
        env=_api_env(workdir, deps, 0),
        log=workdir / "migrate.log",
        what="API migrations",
    )


def _api_seed(workdir: Path, state: PartState) -> None:
    token = dev_tenants.mint_dev_token(
        tenants_dir(workdir), tenant_id="demo", user_id="seed", roles=["staff"]
    )
    dev_tenants.seed_menu(state.endpoints["url"], token)


def api_part() -> ServicePart:
    """The API, migrated and seeded with the demo tenants' menu."""
    return ServicePart(
        name="api",
        module="ragline_api",
        env=_api_env,
        depends_on=("postgres", "valkey"),
        prepare=_api_prepare,
        args=lambda port: ["serve", "--host", "127.0.0.1", "--port", str(port)],
        after_start=_api_seed,
    )


def _llm_env(workdir: Path, deps: Mapping[str, PartState], port: int) -> dict[str, str]:
    # RAGLINE_LLM_BASE_URL / _MODEL / _API_KEY pass through from the caller's environment: any
    # OpenAI-compatible server (a local one too) becomes the chat model.
    directory = tenants_dir(workdir)
    return {
        "RAGLINE_LLM_DATABASE_URL": deps["postgres"].endpoints["dsn"],
        "RAGLINE_LLM_REGISTRY_PATH": str(dev_tenants.registry_path(directory)),
        "RAGLINE_LLM_KEYS_DIR": str(dev_tenants.keys_dir(directory)),
        "RAGLINE_LLM_API_URL": deps["api"].endpoints["url"],
        "RAGLINE_LLM_HOST": "127.0.0.1",
        "RAGLINE_LLM_PORT": str(port),
        "RAGLINE_LLM_LOG_JSON": "false",
    }


def _llm_prepare(workdir: Path, deps: Mapping[str, PartState]) -> None:
    """Ingest the demo tenant's knowledge, its menu linked to the API's products."""
    token = dev_tenants.mint_dev_token(
        tenants_dir(workdir), tenant_id="demo", user_id="ingest", roles=["staff"], ttl_seconds=600
    )
    env = {
        key: value
        for key, value in _llm_env(workdir, deps, 0).items()
        if key not in {"RAGLINE_LLM_PORT", "RAGLINE_LLM_HOST"}
    }
    run_step(
        [
            sys.executable,
            "-m",
            "ragline_llm.ingest",
            "--demo",
            "demo",
            "--api-url",
            deps["api"].endpoints["url"],
        ],
        # The token travels in the environment, not the command line others can read in ps.
        env={**env, "RAGLINE_LLM_INGEST_TOKEN": token},
        log=workdir / "ingest.log",
        what="LLM demo ingestion",
    )


def llm_part() -> ServicePart:
    """The chat service, with the demo tenant's menu, policies and FAQs indexed."""
    return ServicePart(
        name="llm",
        module="ragline_llm",
        env=_llm_env,
        depends_on=("postgres", "api"),
        prepare=_llm_prepare,
    )


STREAM = "ragline:events"
TOPIC = "ragline.events"


def stream_backend() -> str:
    """``redis`` (default) or ``kafka``: ``RAGLINE_STREAM_BACKEND`` picks the relay's broker."""
    return os.environ.get("RAGLINE_STREAM_BACKEND", "redis").lower()


def _broker_env(prefix: str, deps: Mapping[str, PartState]) -> dict[str, str]:
    if stream_backend() == "kafka":
        return {
            f"{prefix}BACKEND": "kafka",
            f"{prefix}KAFKA_BOOTSTRAP_SERVERS": deps["kafka"].endpoints["bootstrap"],
            f"{prefix}KAFKA_TOPIC": TOPIC,
        }
    return {
        f"{prefix}BACKEND": "redis",
        f"{prefix}REDIS_URL": deps["valkey"].endpoints["url"],
        f"{prefix}REDIS_STREAM": STREAM,
    }


def _relay_env(workdir: Path, deps: Mapping[str, PartState], port: int) -> dict[str, str]:
    return {
        # The relay reads every tenant's outbox rows, so it connects as the table owner
        # (row-level security binds the API's application role, not the owner).
        "RAGLINE_RELAY_DATABASE_URL": deps["postgres"].endpoints["dsn"],
        "RAGLINE_RELAY_HOST": "127.0.0.1",
        "RAGLINE_RELAY_PORT": str(port),
        "RAGLINE_RELAY_LOG_JSON": "false",
        # The dead-letter admin endpoints verify admin tokens against the tenant registry.
        "RAGLINE_RELAY_REGISTRY_PATH": str(dev_tenants.registry_path(tenants_dir(workdir))),
        "RAGLINE_RELAY_KEYS_DIR": str(dev_tenants.keys_dir(tenants_dir(workdir))),
        **_broker_env("RAGLINE_RELAY_", deps),
    }


def _notifier_env(workdir: Path, deps: Mapping[str, PartState], port: int) -> dict[str, str]:
    directory = tenants_dir(workdir)
    return {
        "RAGLINE_NOTIFIER_HOST": "127.0.0.1",
        "RAGLINE_NOTIFIER_PORT": str(port),
        "RAGLINE_NOTIFIER_REGISTRY_PATH": str(dev_tenants.registry_path(directory)),
        "RAGLINE_NOTIFIER_KEYS_DIR": str(dev_tenants.keys_dir(directory)),
        "RAGLINE_NOTIFIER_LOG_JSON": "false",
        **_broker_env("RAGLINE_NOTIFIER_", deps),
    }


def _broker_deps() -> tuple[str, ...]:
    return ("kafka",) if stream_backend() == "kafka" else ("valkey",)


def relay_part() -> ServicePart:
    """The outbox relay, publishing to Valkey Streams (or Kafka)."""
    return ServicePart(
        name="relay",
        module="ragline_relay",
        env=_relay_env,
        depends_on=("postgres", "api", *_broker_deps()),
    )


def notifier_part() -> ServicePart:
    """The notifier, serving SSE and WebSocket clients of each tenant."""
    return ServicePart(
        name="notifier",
        module="ragline_notifier",
        env=_notifier_env,
        depends_on=("api", *_broker_deps()),
    )


def platform_parts(*, kafka: bool = True, kube: bool = True, services: bool = True) -> list[Part]:
    """Every part of the local platform, in start order."""
    parts = default_parts(kafka=kafka, kube=kube)
    if services:
        parts += [api_part(), relay_part(), notifier_part(), llm_part()]
        if kube:
            # Last: the samples' workloads reference the services' databases and brokers.
            parts.append(OperatorPart())
    return parts
