"""The signing-key Secret, the registry ConfigMap, and the env var catalog."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime
from typing import Any

import pytest
from pydantic_settings import BaseSettings

from ragline_llm.settings import LlmSettings
from ragline_notifier.settings import NotifierSettings
from ragline_operator.models import EventStreamSpec, RagPipelineSpec
from ragline_operator.resources import eventstream as es
from ragline_operator.resources import ragpipeline as rp
from ragline_operator.resources.common import OwnerRef, WorkloadImage
from ragline_operator.resources.env import ENV_FIELDS, Service, all_env_vars, env_name
from ragline_operator.resources.tenant import (
    KeyRecord,
    SigningKeys,
    build_registry_configmap,
    build_signing_key_secret,
    read_signing_keys,
)
from ragline_relay.settings import RelaySettings
from tests.unit.operator.resources.helpers import container
from tests.unit.operator.samples import (
    NAMESPACE,
    kafka_stream_spec,
    pipeline_spec,
    redis_stream_spec,
)

TENANT = OwnerRef(kind="TenantConfig", name="acme", uid="uid-tc")
NOW = datetime(2026, 11, 22, 10, 0, tzinfo=UTC)
# The services that read their bind address from settings (the API takes it as arguments).
SETTINGS: dict[Service, type[BaseSettings]] = {
    Service.RELAY: RelaySettings,
    Service.NOTIFIER: NotifierSettings,
    Service.LLM: LlmSettings,
}


def test_signing_key_secret_round_trips_keys_and_metadata() -> None:
    keys = SigningKeys(
        records=(
            KeyRecord("2026-11-22-2", NOW),
            KeyRecord("2026-11-22-1", NOW, not_after=NOW),
        ),
        material={"2026-11-22-2": b"new" * 20, "2026-11-22-1": b"old" * 20},
        rotated_for="token-1",
    )
    secret = build_signing_key_secret(
        owner=TENANT, namespace=NAMESPACE, tenant_id="acme", keys=keys
    )

    assert secret["metadata"]["name"] == "acme-signing-key"
    assert secret["metadata"]["labels"]["ragline.dev/tenant"] == "acme"
    assert base64.b64decode(secret["data"]["2026-11-22-2"]) == b"new" * 20
    assert read_signing_keys(secret) == keys


def test_keys_without_material_or_a_garbled_annotation_are_ignored() -> None:
    secret: dict[str, Any] = {
        "metadata": {
            "annotations": {
                "ragline.dev/signing-keys": json.dumps(
                    [{"kid": "a", "createdAt": "2026-01-01T00:00:00Z"}]
                )
            }
        },
        "data": {},
    }
    assert read_signing_keys(secret).records == ()
    secret["metadata"]["annotations"]["ragline.dev/signing-keys"] = "{not json"
    assert read_signing_keys(secret).records == ()
    assert read_signing_keys(None).records == ()


def test_registry_configmap_is_owned_by_every_tenantconfig_without_a_controller() -> None:
    owners = [TENANT, OwnerRef(kind="TenantConfig", name="zeta", uid="uid-z")]
    config_map = build_registry_configmap(namespace=NAMESPACE, owners=owners, document="{}")

    assert config_map["metadata"]["name"] == "ragline-tenants"
    assert config_map["data"] == {"tenants.json": "{}"}
    refs = config_map["metadata"]["ownerReferences"]
    assert {r["uid"] for r in refs} == {"uid-tc", "uid-z"}
    assert not any(r["controller"] for r in refs)


def test_env_names_follow_the_service_prefixes() -> None:
    assert env_name(Service.API, "database_url") == "RAGLINE_API_DATABASE_URL"
    assert env_name(Service.NOTIFIER, "keys_dir") == "RAGLINE_NOTIFIER_KEYS_DIR"
    with pytest.raises(KeyError, match="not a listed settings field"):
        env_name(Service.RELAY, "redis_password")
    assert set(ENV_FIELDS) == set(Service)


def _all_workloads() -> list[dict[str, Any]]:
    image = WorkloadImage("example.test/ragline:1.0")
    workloads = []
    for spec in (redis_stream_spec(), kafka_stream_spec(autoscaling={})):
        ctx = es.EventStreamContext(
            owner=OwnerRef(kind="EventStream", name="s", uid="u"),
            namespace=NAMESPACE,
            spec=EventStreamSpec.model_validate(spec),
            image=image,
        )
        workloads += [es.build_relay_deployment(ctx), es.build_notifier_deployment(ctx)]
    pipeline = rp.RagPipelineContext(
        owner=OwnerRef(kind="RagPipeline", name="p", uid="u"),
        namespace=NAMESPACE,
        spec=RagPipelineSpec.model_validate(pipeline_spec()),
        image=image,
    )
    workloads += [
        rp.build_api_deployment(pipeline),
        rp.build_llm_deployment(pipeline),
        rp.build_migration_job(pipeline),
        rp.build_ingestion_job(pipeline),
    ]
    return workloads


def test_every_env_var_set_on_a_workload_is_in_the_catalog_of_its_service() -> None:
    catalog = all_env_vars()
    seen: set[str] = set()
    for workload in _all_workloads():
        command = container(workload)["command"]
        module = command[command.index("-m") + 1]
        service = Service(module.split(".")[0].removeprefix("ragline_"))
        names = {item["name"] for item in container(workload)["env"]}
        assert names <= catalog[service], names - catalog[service]
        seen |= names
    # Every catalogued variable is actually used by some builder: no dead entries.
    assert seen == set().union(*catalog.values())


def _bind_address(workload: dict[str, Any]) -> tuple[str, int]:
    """Where the container's process listens, read the way the service reads it."""
    spec = container(workload)
    command = spec["command"]
    module = command[command.index("-m") + 1]
    if module == "ragline_api":  # ``serve`` takes --host/--port (loopback and 8000 by default)
        return command[command.index("--host") + 1], int(command[command.index("--port") + 1])
    settings = SETTINGS[Service(module.removeprefix("ragline_"))]
    prefix = settings.model_config["env_prefix"]
    env = {item["name"]: item.get("value") for item in spec["env"]}
    host = env.get(f"{prefix}HOST", settings.model_fields["host"].default)
    port = env.get(f"{prefix}PORT", settings.model_fields["port"].default)
    return str(host), int(port)


def test_every_deployment_listens_on_the_pod_address_and_its_container_port() -> None:
    deployments = [w for w in _all_workloads() if w["kind"] == "Deployment"]
    listening = []
    for deployment in deployments:
        (port,) = container(deployment)["ports"]
        host, bound = _bind_address(deployment)
        listening.append((deployment["metadata"]["name"], host, bound == port["containerPort"]))

    # Kubelet probes and Services reach the pod IP: a loopback bind would never be Ready.
    assert {(host, on_port) for _, host, on_port in listening} == {("0.0.0.0", True)}, listening
    assert {c["metadata"]["labels"]["app.kubernetes.io/component"] for c in deployments} == {
        "api",
        "llm",
        "relay",
        "notifier",
    }
    # Left alone, each service binds loopback only: the operator must set the address.
    assert {s.model_fields["host"].default for s in SETTINGS.values()} == {"127.0.0.1"}
