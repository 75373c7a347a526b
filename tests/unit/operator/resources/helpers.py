"""Reading built manifests in tests."""

from __future__ import annotations

from typing import Any


def pod_spec(workload: dict[str, Any]) -> dict[str, Any]:
    """The pod spec of a Deployment or Job."""
    return dict(workload["spec"]["template"]["spec"])


def container(workload: dict[str, Any]) -> dict[str, Any]:
    """The single container of a workload."""
    containers = pod_spec(workload)["containers"]
    assert len(containers) == 1
    return dict(containers[0])


def env_map(container_: dict[str, Any]) -> dict[str, Any]:
    """Env var name → literal value, or the ``valueFrom`` dict."""
    env = {}
    for item in container_["env"]:
        env[item["name"]] = item["value"] if "value" in item else item["valueFrom"]
    assert len(env) == len(container_["env"]), "an env var is set twice"
    return env
