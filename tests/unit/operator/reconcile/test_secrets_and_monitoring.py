"""Referenced Secrets (missing ones named, checksums) and the ServiceMonitor decision."""

from __future__ import annotations

import pytest

from ragline_operator.models.base import SecretKeySelector, ServiceMonitorMode
from ragline_operator.reconcile.monitoring import plan_monitoring
from ragline_operator.reconcile.pause import is_paused
from ragline_operator.reconcile.secrets import SecretField, resolve
from tests.unit.operator.samples import secret

DSN = SecretField("spec.database.dsn", SecretKeySelector(name="pg", key="dsn"))
KEY = SecretField("spec.llm.apiKey", SecretKeySelector(name="llm", key="key"))


def test_missing_secrets_and_keys_are_named_with_the_field() -> None:
    resolution = resolve([DSN, KEY], {"pg": secret("pg", other="x"), "llm": None})
    observation = resolution.observation()

    assert not observation.is_true
    assert observation.failure
    assert observation.reason == "SecretNotFound"
    assert "spec.database.dsn: Secret 'pg' has no key 'dsn'" in observation.message
    assert "spec.llm.apiKey: Secret 'llm' not found" in observation.message


def test_found_secrets_give_a_checksum_that_follows_their_values() -> None:
    one = resolve([DSN], {"pg": secret("pg", dsn="postgresql://a")})
    same = resolve([DSN], {"pg": secret("pg", dsn="postgresql://a", unrelated="x")})
    other = resolve([DSN], {"pg": secret("pg", dsn="postgresql://b")})

    assert one.observation().is_true
    refs = [DSN.ref]
    assert one.checksum(refs) == same.checksum(refs)
    assert one.checksum(refs) != other.checksum(refs)


@pytest.mark.parametrize(
    ("mode", "served", "apply", "delete", "status", "reason"),
    [
        (ServiceMonitorMode.AUTO, True, True, False, "True", "ServiceMonitorApplied"),
        (ServiceMonitorMode.AUTO, False, False, False, "False", "CRDNotInstalled"),
        (ServiceMonitorMode.ENABLED, False, False, False, "False", "CRDNotInstalled"),
        (ServiceMonitorMode.DISABLED, True, False, True, "True", "AnnotationsOnly"),
        (ServiceMonitorMode.DISABLED, False, False, False, "True", "AnnotationsOnly"),
    ],
)
def test_monitoring_plan(
    mode: ServiceMonitorMode,
    served: bool,
    apply: bool,
    delete: bool,
    status: str,
    reason: str,
) -> None:
    plan = plan_monitoring(mode, api_available=served)
    assert (plan.apply, plan.delete) == (apply, delete)
    assert (plan.observation.status.value, plan.observation.reason) == (status, reason)


def test_only_enabled_monitoring_without_the_crd_counts_as_a_failure() -> None:
    assert plan_monitoring(ServiceMonitorMode.ENABLED, api_available=False).observation.failure
    assert not plan_monitoring(ServiceMonitorMode.AUTO, api_available=False).observation.failure


def test_pause_annotation_needs_exactly_true() -> None:
    assert is_paused({"ragline.dev/paused": "true"})
    assert not is_paused({"ragline.dev/paused": "yes"})
    assert not is_paused(None)
