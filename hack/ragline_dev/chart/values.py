"""The Helm chart's values as a Pydantic model: the one source of values.yaml and its schema.

``values.yaml`` (every key commented), ``values.schema.json`` and the configuration table of the
chart's README are all generated from :class:`ChartValues`, so a key cannot exist in one and not in
the others. The operator's tuning keys (``operator.config``) are not written here at all: they are
derived from :class:`ragline_operator.settings.OperatorConfig`, so the chart can only set variables
the operator reads, with the operator's own defaults and bounds.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, WithJsonSchema, create_model
from pydantic.alias_generators import to_camel
from pydantic.fields import FieldInfo

from ragline_operator.resources.common import RUN_AS_USER
from ragline_operator.settings import OperatorConfig

ENV_PREFIX = "RAGLINE_OPERATOR_"
# Set from the workloads' image block rather than from ``operator.config``.
IMAGE_FIELDS = ("image", "image_pull_policy")
# Set from the pod itself (the downward API), never from values: e.g. the operator's namespace
# is wherever the release is installed.
POD_FIELDS = {"namespace": "metadata.namespace"}
# kopf's liveness endpoint; nothing else listens in the operator's pod.
HEALTH_PORT = 8080
HEALTH_PATH = "/healthz"
DEFAULT_REGISTRY = "ghcr.io"
DEFAULT_REPOSITORY = "ragline/ragline"
# OperatorConfig fields whose own description is missing; every values key must say something.
_FALLBACK_HELP = {
    "request_timeout_seconds": "Timeout of one request to the Kubernetes API.",
    "field_manager": "Field manager name of the operator's server-side applies and its Events.",
}

PullPolicy = Literal["Always", "IfNotPresent", "Never"]
KubeObject = dict[str, Any]


class Block(BaseModel):
    """A values block: camelCase keys, unknown keys refused (a typo fails, naming the key)."""

    model_config = ConfigDict(
        alias_generator=to_camel, populate_by_name=True, extra="forbid", frozen=True
    )


def env_var(field: str) -> str:
    """The operator's environment variable for an OperatorConfig field."""
    return f"{ENV_PREFIX}{field.upper()}"


def _tuning_field(name: str, info: FieldInfo) -> tuple[Any, FieldInfo]:
    help_text = info.description or _FALLBACK_HELP.get(name, "See OperatorConfig.")
    copied = FieldInfo.merge_field_infos(info, description=f"{help_text} (`{env_var(name)}`)")
    return info.annotation, copied


def tuning_fields() -> dict[str, FieldInfo]:
    """OperatorConfig's fields that ``operator.config`` sets, by Python name."""
    return {
        name: info
        for name, info in OperatorConfig.model_fields.items()
        if name not in IMAGE_FIELDS and name not in POD_FIELDS
    }


OperatorTuning: type[BaseModel] = create_model(
    "OperatorTuning",
    __base__=Block,
    __doc__="Operator tuning: each key is a field of the operator's OperatorConfig, set as its "
    "environment variable, with the operator's own default and bounds.",
    **{name: _tuning_field(name, info) for name, info in tuning_fields().items()},  # type: ignore[call-overload]
)


def _validate_tuning(value: dict[str, Any]) -> dict[str, Any]:
    return OperatorTuning.model_validate(value).model_dump(by_alias=True)


def _tuning_schema() -> dict[str, Any]:
    schema = OperatorTuning.model_json_schema(by_alias=True)
    schema.pop("title", None)
    return schema


Tuning = Annotated[
    dict[str, Any], AfterValidator(_validate_tuning), WithJsonSchema(_tuning_schema())
]


class Image(Block):
    """Where an image comes from. The digest, when set, wins over the tag."""

    registry: str = Field(default=DEFAULT_REGISTRY, description="Registry host; empty for none.")
    repository: str = Field(default=DEFAULT_REPOSITORY, min_length=1, description="Repository.")
    tag: str = Field(default="", description="Tag; empty means the chart's appVersion.")
    digest: str = Field(
        default="",
        pattern=r"^(sha256:[a-f0-9]{64})?$",
        description="Digest (sha256:...); pins the image exactly and overrides the tag.",
    )
    pull_policy: PullPolicy = Field(default="IfNotPresent", description="imagePullPolicy.")


class WorkloadImage(Block):
    """An image override: every empty key falls back to the operator's image."""

    registry: str = Field(default="", description="Registry host; empty: the operator's.")
    repository: str = Field(default="", description="Repository; empty: the operator's.")
    tag: str = Field(default="", description="Tag; empty: the operator's.")
    digest: str = Field(
        default="",
        pattern=r"^(sha256:[a-f0-9]{64})?$",
        description="Digest; empty: the operator's.",
    )
    pull_policy: PullPolicy | Literal[""] = Field(
        default="", description="imagePullPolicy of the workloads; empty: the operator's."
    )


class Probe(Block):
    """A probe of kopf's health endpoint (`--liveness`)."""

    enabled: bool = Field(default=True, description="Whether the probe is set at all.")
    initial_delay_seconds: int = Field(default=10, ge=0, description="initialDelaySeconds.")
    period_seconds: int = Field(default=10, ge=1, description="periodSeconds.")
    timeout_seconds: int = Field(default=5, ge=1, description="timeoutSeconds.")
    failure_threshold: int = Field(default=6, ge=1, description="failureThreshold.")


def _readiness() -> Probe:
    return Probe(initial_delay_seconds=5, failure_threshold=3)


class Operator(Block):
    """The operator Deployment (one replica: Kopf runs standalone, the strategy is Recreate)."""

    enabled: bool = Field(
        default=True,
        description="Deploy the operator. Off when it runs elsewhere (e.g. `kopf run` under Tilt).",
    )
    image: Image = Field(
        default_factory=Image,
        description="The RAGline image; the operator runs it and, unless `workloads.image` says "
        "otherwise, stamps it on every workload it creates.",
    )
    watch_namespaces: list[Annotated[str, Field(min_length=1, max_length=63)]] = Field(
        default_factory=list,
        description="Namespaces to watch; empty watches every namespace (`--all-namespaces`).",
    )
    log_format: Literal["plain", "full", "json"] = Field(
        default="json", description="kopf's `--log-format`."
    )
    log_level: Literal["quiet", "info", "verbose", "debug"] = Field(
        default="info", description="quiet, info, verbose or debug (kopf's -q / -v / -d)."
    )
    config: Tuning = Field(
        default_factory=lambda: OperatorTuning().model_dump(by_alias=True),
        description="Operator tuning, each key an OperatorConfig field set as its env var.",
    )
    extra_env: list[KubeObject] = Field(
        default_factory=list, description="More env entries for the operator container."
    )
    resources: KubeObject = Field(
        default_factory=lambda: {
            "requests": {"cpu": "50m", "memory": "128Mi"},
            "limits": {"memory": "256Mi"},
        },
        description="Container resources.",
    )
    pod_security_context: KubeObject = Field(
        default_factory=lambda: {
            "runAsNonRoot": True,
            "runAsUser": RUN_AS_USER,
            "runAsGroup": RUN_AS_USER,
            "fsGroup": RUN_AS_USER,
            "seccompProfile": {"type": "RuntimeDefault"},
        },
        description="Pod securityContext: non-root, the image's numeric user, RuntimeDefault.",
    )
    container_security_context: KubeObject = Field(
        default_factory=lambda: {
            "allowPrivilegeEscalation": False,
            "readOnlyRootFilesystem": True,
            "runAsNonRoot": True,
            "capabilities": {"drop": ["ALL"]},
            "seccompProfile": {"type": "RuntimeDefault"},
        },
        description="Container securityContext: read-only root filesystem (/tmp is an "
        "emptyDir), no privilege escalation, every capability dropped.",
    )
    health_port: int = Field(
        default=HEALTH_PORT, ge=1024, le=65535, description="Port of kopf's health endpoint."
    )
    liveness_probe: Probe = Field(
        default_factory=Probe,
        description="Liveness probe of kopf's health endpoint: a stuck operator is restarted.",
    )
    readiness_probe: Probe = Field(
        default_factory=_readiness,
        description="Readiness probe of kopf's health endpoint (up once the operator runs).",
    )
    priority_class_name: str = Field(default="", description="priorityClassName of the pod.")
    node_selector: dict[str, str] = Field(
        default_factory=lambda: {"kubernetes.io/os": "linux"}, description="nodeSelector."
    )
    tolerations: list[KubeObject] = Field(default_factory=list, description="tolerations.")
    affinity: KubeObject = Field(default_factory=dict, description="affinity.")
    deployment_annotations: dict[str, str] = Field(
        default_factory=dict, description="Annotations of the Deployment."
    )
    pod_annotations: dict[str, str] = Field(
        default_factory=dict, description="Annotations of the pod."
    )
    pod_labels: dict[str, str] = Field(default_factory=dict, description="More pod labels.")


class Workloads(Block):
    """What the operator stamps on the Deployments and Jobs it creates for the custom resources."""

    image: WorkloadImage = Field(
        default_factory=WorkloadImage,
        description="The image of every workload (`RAGLINE_OPERATOR_IMAGE`, "
        "`RAGLINE_OPERATOR_IMAGE_PULL_POLICY`); empty keys inherit `operator.image`.",
    )


class Crds(Block):
    """The three CustomResourceDefinitions (TenantConfig, EventStream, RagPipeline)."""

    enabled: bool = Field(
        default=True,
        description="Install and upgrade the CRDs with the chart. Turn off when they are "
        "managed elsewhere (e.g. `kubectl apply -f crds/`).",
    )
    keep: bool = Field(
        default=True,
        description="Keep the CRDs (and so every custom resource) on `helm uninstall` "
        "(`helm.sh/resource-policy: keep`).",
    )


class Rbac(Block):
    """The operator's least-privilege ClusterRole, generated from the operator's rule list."""

    create: bool = Field(default=True, description="Create the ClusterRole and its binding.")


class ServiceAccount(Block):
    """The operator's ServiceAccount."""

    create: bool = Field(default=True, description="Create the ServiceAccount.")
    name: str = Field(default="", description="Its name; empty derives one from the release.")
    annotations: dict[str, str] = Field(default_factory=dict, description="Its annotations.")
    automount_service_account_token: bool = Field(
        default=True, description="Mount its token (the operator talks to the API server)."
    )


class ServiceMonitor(Block):
    """A Prometheus Operator ServiceMonitor for the operator's pod."""

    enabled: bool = Field(
        default=False, description="Create it (needs the monitoring.coreos.com/v1 CRDs)."
    )
    labels: dict[str, str] = Field(
        default_factory=dict, description="Labels your Prometheus selects ServiceMonitors by."
    )
    port: int = Field(
        default=9090,
        ge=1024,
        le=65535,
        description="Port of the operator's Prometheus metrics. Note: the operator serves only "
        "its health endpoint so far; this prepares the Service and the scrape.",
    )
    path: str = Field(default="/metrics", pattern=r"^/", description="Path scraped.")
    interval: str = Field(default="30s", pattern=r"^[0-9]+(ms|s|m|h)$", description="interval.")
    scrape_timeout: str = Field(
        default="10s", pattern=r"^[0-9]+(ms|s|m|h)$", description="scrapeTimeout."
    )


class Monitoring(Block):
    """Prometheus integration of the operator itself (workloads are scraped per custom resource)."""

    service_monitor: ServiceMonitor = Field(default_factory=ServiceMonitor)


def _default_egress() -> list[dict[str, Any]]:
    return [
        {
            "ports": [
                {"port": 53, "protocol": "UDP"},
                {"port": 53, "protocol": "TCP"},
            ]
        },
        {"ports": [{"port": 443, "protocol": "TCP"}, {"port": 6443, "protocol": "TCP"}]},
        {"ports": [{"port": 9092, "protocol": "TCP"}, {"port": 6379, "protocol": "TCP"}]},
    ]


class NetworkPolicy(Block):
    """A NetworkPolicy around the operator's pod."""

    enabled: bool = Field(default=False, description="Create it.")
    ingress: list[KubeObject] = Field(
        default_factory=lambda: [{"from": []}],
        description="Ingress rules (ports are added: the health and metrics ports). The default "
        "admits any source, for probes and scrapes.",
    )
    egress: list[KubeObject] = Field(
        default_factory=_default_egress,
        description="Egress rules: DNS, the API server (443, 6443), and Kafka (9092) and Redis "
        "(6379) whose consumer lag drives scaling. Adjust the ports to your brokers.",
    )


class ChartValues(Block):
    """Every value of the ragline chart."""

    name_override: str = Field(default="", description="Replaces the chart name in names.")
    full_name_override: str = Field(
        default="", alias="fullnameOverride", description="Replaces the whole release-derived name."
    )
    common_labels: dict[str, str] = Field(
        default_factory=dict, description="Labels added to every object of the chart."
    )
    image_pull_secrets: list[KubeObject] = Field(
        default_factory=list, description="imagePullSecrets of the operator's pod."
    )
    crds: Crds = Field(default_factory=Crds)
    rbac: Rbac = Field(default_factory=Rbac)
    service_account: ServiceAccount = Field(default_factory=ServiceAccount)
    operator: Operator = Field(default_factory=Operator)
    workloads: Workloads = Field(default_factory=Workloads)
    monitoring: Monitoring = Field(default_factory=Monitoring)
    network_policy: NetworkPolicy = Field(default_factory=NetworkPolicy)
