"""RBAC covers what the operator does; settings configure Kopf; durations parse."""

from __future__ import annotations

from datetime import timedelta

import kopf
import pytest

from ragline_operator.k8s.client import PLURALS
from ragline_operator.models.base import parse_duration
from ragline_operator.rbac import RULES, cluster_role
from ragline_operator.settings import OperatorConfig, configure_kopf


def allowed(group: str, resource: str) -> set[str]:
    verbs: set[str] = set()
    for rule in RULES:
        if rule.api_group == group and resource in rule.resources:
            verbs |= set(rule.verbs)
    return verbs


@pytest.mark.parametrize(("api_version", "kind"), sorted(PLURALS))
def test_every_resource_the_client_knows_is_readable(api_version: str, kind: str) -> None:
    group = api_version.rpartition("/")[0]
    plural = PLURALS[(api_version, kind)]
    if kind == "StatefulSet":  # only a consumer the scaler scales: its scale subresource, no more
        assert allowed(group, "statefulsets/scale") == {"get", "patch"}
        assert not allowed(group, plural)
        return
    needed = {"create"} if kind == "Event" else {"list"} if kind == "Pod" else {"get", "patch"}
    assert needed <= allowed(group, plural), (api_version, kind)


def test_least_privilege() -> None:
    role = cluster_role()
    for rule in role["rules"]:
        assert "*" not in rule["verbs"], rule
        assert "*" not in rule["resources"], rule
        assert "escalate" not in rule["verbs"]
        assert "bind" not in rule["verbs"]
    assert "delete" not in allowed("", "secrets")
    assert "delete" not in allowed("apps", "deployments")
    assert allowed("ragline.dev", "ragpipelines/status") == {"get", "patch"}
    assert all(rule.why for rule in RULES)


def test_kopf_keeps_its_bookkeeping_out_of_our_status() -> None:
    settings = kopf.OperatorSettings()
    configure_kopf(settings, OperatorConfig(watch_server_timeout_seconds=120))

    assert isinstance(settings.persistence.progress_storage, kopf.AnnotationsProgressStorage)
    assert isinstance(settings.persistence.diffbase_storage, kopf.AnnotationsDiffBaseStorage)
    assert settings.persistence.finalizer == "ragline.dev/finalizer"
    assert settings.watching.server_timeout == 120
    assert settings.peering.standalone is True


def test_settings_come_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RAGLINE_OPERATOR_IMAGE", "registry.test/ragline:2")
    monkeypatch.setenv("RAGLINE_OPERATOR_RESYNC_SECONDS", "15")
    config = OperatorConfig()
    assert config.image == "registry.test/ragline:2"
    assert config.resync_seconds == 15.0


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("250ms", timedelta(milliseconds=250)),
        ("15s", timedelta(seconds=15)),
        ("1h30m", timedelta(minutes=90)),
        ("7d", timedelta(days=7)),
    ],
)
def test_durations(text: str, expected: timedelta) -> None:
    assert parse_duration(text) == expected


@pytest.mark.parametrize("text", ["", "5", "5x", "1h 30m", "-5s"])
def test_bad_durations_are_refused(text: str) -> None:
    with pytest.raises(ValueError, match="not a duration"):
        parse_duration(text)
