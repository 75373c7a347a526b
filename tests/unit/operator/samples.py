"""Sample resources shared by the operator's unit tests."""

from __future__ import annotations

import base64
from typing import Any

from ragline_operator.models.base import API_VERSION

NAMESPACE = "shop"
CREATED = "2026-01-01T00:00:00Z"


def body(
    kind: str,
    name: str,
    spec: dict[str, Any],
    *,
    uid: str | None = None,
    generation: int = 1,
    status: dict[str, Any] | None = None,
    annotations: dict[str, str] | None = None,
    created: str = CREATED,
) -> dict[str, Any]:
    """A custom resource as the API server would return it."""
    meta: dict[str, Any] = {
        "name": name,
        "namespace": NAMESPACE,
        "uid": uid or f"uid-{kind.lower()}-{name}",
        "generation": generation,
        "creationTimestamp": created,
        "resourceVersion": "1",
    }
    if annotations:
        meta["annotations"] = annotations
    obj: dict[str, Any] = {"apiVersion": API_VERSION, "kind": kind, "metadata": meta, "spec": spec}
    if status is not None:
        obj["status"] = status
    return obj


def secret_ref(name: str, key: str) -> dict[str, Any]:
    """``{secretKeyRef: {name, key}}``."""
    return {"secretKeyRef": {"name": name, "key": key}}


def tenant_spec(tenant_id: str = "acme", **extra: Any) -> dict[str, Any]:
    """A TenantConfig spec with generated keys."""
    return {"tenantId": tenant_id, "displayName": "Acme Pizza", **extra}


def redis_stream_spec(**extra: Any) -> dict[str, Any]:
    """An EventStream on Redis."""
    return {
        "backend": {
            "type": "Redis",
            "redis": {"url": secret_ref("redis", "url"), "stream": "orders"},
        },
        "outbox": {"database": secret_ref("pg", "dsn"), "pollInterval": "250ms"},
        "notifier": {"replicas": 2, "heartbeat": "15s"},
        **extra,
    }


def kafka_stream_spec(**extra: Any) -> dict[str, Any]:
    """An EventStream on Kafka."""
    return {
        "backend": {
            "type": "Kafka",
            "kafka": {
                "bootstrapServers": secret_ref("kafka", "bootstrap"),
                "topic": "orders",
                "partitions": 6,
            },
        },
        "outbox": {"database": secret_ref("pg", "dsn")},
        **extra,
    }


def pipeline_spec(**extra: Any) -> dict[str, Any]:
    """A RagPipeline with an LLM, a cache and two sources."""
    return {
        "eventStreamRef": {"name": "orders"},
        "database": {"dsn": secret_ref("pg", "dsn")},
        "cache": {"url": secret_ref("redis", "url")},
        "llm": {
            "baseURL": "http://127.0.0.1:9/v1",
            "model": "tiny-chat",
            "apiKey": secret_ref("llm", "key"),
        },
        "sources": [{"configMapRef": {"name": "menu"}}, {"inline": {"name": "faq", "text": "hi"}}],
        "api": {"replicas": 2},
        **extra,
    }


def secret(name: str, **data: str) -> dict[str, Any]:
    """A Secret object with base64 data."""
    return {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": name, "namespace": NAMESPACE},
        "data": {key: base64.b64encode(value.encode()).decode() for key, value in data.items()},
    }
