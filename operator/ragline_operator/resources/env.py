"""Every environment variable the operator sets on a workload, in one place.

Each service reads its settings with pydantic-settings under its own prefix (``RAGLINE_API_``,
``RAGLINE_RELAY_``, ``RAGLINE_NOTIFIER_``, ``RAGLINE_LLM_``). :data:`ENV_FIELDS` lists, per
service, the settings *fields* the operator fills; builders can only name a variable through
:func:`env_name`, which refuses anything not listed here. A contract test can therefore compare
:func:`all_env_vars` with the services' settings models and catch a variable nobody reads.
Durations travel as float seconds (``*_seconds``), lists as JSON, booleans as ``true``/``false``.
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum


class Service(StrEnum):
    """A RAGline service image entry point, named as in its env prefix."""

    API = "api"
    RELAY = "relay"
    NOTIFIER = "notifier"
    LLM = "llm"


_TENANT_AUTH = ("registry_path", "keys_dir")

ENV_FIELDS: Mapping[Service, frozenset[str]] = {
    # The API takes its bind address on the command line (see COMMANDS), not from settings.
    Service.API: frozenset({"database_url", "redis_url", *_TENANT_AUTH}),
    Service.RELAY: frozenset(
        {
            "host",
            "port",
            "database_url",
            "backend",
            "kafka_bootstrap_servers",
            "kafka_topic",
            "redis_url",
            "redis_stream",
            "redis_max_len",
            "batch_size",
            "poll_interval_seconds",
            "listen_notify",
        }
    ),
    Service.NOTIFIER: frozenset(
        {
            "host",
            "port",
            "backend",
            "kafka_bootstrap_servers",
            "kafka_topic",
            "redis_url",
            "redis_stream",
            "consumer_group",
            "transports",
            "heartbeat_seconds",
            "max_connections",
            *_TENANT_AUTH,
        }
    ),
    Service.LLM: frozenset(
        {
            "host",
            "port",
            "database_url",
            "redis_url",
            "api_url",
            "base_url",
            "model",
            "api_key",
            "max_output_tokens",
            "embedding_provider",
            "embedding_model",
            "embedding_dimensions",
            "retrieval_top_k",
            "retrieval_min_score",
            "vector_table",
            "index_type",
            "index_m",
            "index_ef_construction",
            "index_lists",
            "ingest_sources",
            *_TENANT_AUTH,
        }
    ),
}

# Pods listen on every interface of their own network namespace (probes come from the kubelet).
POD_BIND_ADDRESS = "0.0.0.0"  # noqa: S104 - a pod's own interfaces, by design
HTTP_PORT = 8080

# Entry points of the one RAGline image, by what a container runs. The relay and the LLM service
# migrate their own tables at start (advisory-locked); the migration Job does the API's.
COMMANDS: Mapping[str, tuple[str, ...]] = {
    "api": (
        "python",
        "-m",
        "ragline_api",
        "serve",
        "--host",
        POD_BIND_ADDRESS,
        "--port",
        str(HTTP_PORT),
    ),
    "relay": ("python", "-m", "ragline_relay", "run"),
    "notifier": ("python", "-m", "ragline_notifier"),
    "llm": ("python", "-m", "ragline_llm", "serve"),
    "migrate": ("python", "-m", "ragline_api", "migrate"),
    "ingest": ("python", "-m", "ragline_llm.ingest"),
}
# Services whose settings carry host and port (the API gets them as arguments above).
LISTENS_BY_SETTINGS = frozenset({Service.RELAY, Service.NOTIFIER, Service.LLM})


def env_name(service: Service, field: str) -> str:
    """The variable for ``field`` of ``service``'s settings; unknown fields are a bug here."""
    if field not in ENV_FIELDS[service]:
        raise KeyError(f"{field!r} is not a listed settings field of {service.value}")
    return f"RAGLINE_{service.value.upper()}_{field.upper()}"


def all_env_vars() -> dict[Service, frozenset[str]]:
    """Every variable name the operator may set, per service."""
    return {
        service: frozenset(env_name(service, field) for field in fields)
        for service, fields in ENV_FIELDS.items()
    }
