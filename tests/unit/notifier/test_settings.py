"""The notifier reads every variable the operator sets, in the operator's formats."""

from __future__ import annotations

import pytest

from ragline_notifier.settings import NotifierSettings, Transport
from ragline_operator.resources.env import ENV_FIELDS, Service


def test_every_variable_the_operator_sets_is_a_notifier_setting() -> None:
    assert ENV_FIELDS[Service.NOTIFIER] <= set(NotifierSettings.model_fields)


def test_transports_come_as_json_and_the_group_is_per_instance(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("RAGLINE_NOTIFIER_TRANSPORTS", '["SSE"]')
    monkeypatch.setenv("RAGLINE_NOTIFIER_CONSUMER_GROUP", "notifier")
    monkeypatch.setenv("RAGLINE_NOTIFIER_INSTANCE_ID", "notifier-7d9f-abcde")
    settings = NotifierSettings()
    assert settings.transports == [Transport.SSE]
    assert settings.group_name() == "notifier.notifier-7d9f-abcde"


def test_without_an_instance_id_each_process_gets_its_own_group() -> None:
    assert NotifierSettings().group_name().startswith("notifier.")
    assert NotifierSettings().group_name() == NotifierSettings().group_name()


def test_a_client_buffer_must_hold_one_fetch() -> None:
    with pytest.raises(ValueError, match="fetch_count"):
        NotifierSettings(client_buffer_events=10, fetch_count=50)
