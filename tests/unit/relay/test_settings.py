"""The relay reads every variable the operator sets, and nothing starts at import."""

from __future__ import annotations

import pytest

from ragline_operator.resources.env import ENV_FIELDS, Service
from ragline_relay.settings import RelaySettings


def test_every_variable_the_operator_sets_is_a_relay_setting() -> None:
    assert ENV_FIELDS[Service.RELAY] <= set(RelaySettings.model_fields)


def test_settings_come_from_ragline_relay_variables(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RAGLINE_RELAY_DATABASE_URL", "postgresql://u@127.0.0.1:5432/db")
    monkeypatch.setenv("RAGLINE_RELAY_BACKEND", "kafka")
    monkeypatch.setenv("RAGLINE_RELAY_BATCH_SIZE", "250")
    monkeypatch.setenv("RAGLINE_RELAY_LISTEN_NOTIFY", "false")
    settings = RelaySettings()
    assert settings.backend == "kafka"
    assert settings.batch_size == 250
    assert settings.listen_notify is False


def test_an_unknown_backend_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RAGLINE_RELAY_DATABASE_URL", "postgresql://u@127.0.0.1:5432/db")
    monkeypatch.setenv("RAGLINE_RELAY_BACKEND", "rabbitmq")
    with pytest.raises(ValueError, match="backend"):
        RelaySettings()
