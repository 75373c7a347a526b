"""The API reads its settings from ``RAGLINE_API_*`` variables (the ones the operator sets)."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from ragline_api.settings import ApiSettings

OPERATOR_SETS = {
    "RAGLINE_API_DATABASE_URL": "postgresql://app:pw@db:5432/ragline",
    "RAGLINE_API_REDIS_URL": "redis://cache:6379/0",
    "RAGLINE_API_REGISTRY_PATH": "/etc/ragline/registry/tenants.json",
    "RAGLINE_API_KEYS_DIR": "/etc/ragline/keys",
    "RAGLINE_API_LOG_LEVEL": "DEBUG",
    "RAGLINE_API_DB_ROLE": "ragline_app",
}


def test_every_variable_the_operator_sets_is_a_setting(monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in OPERATOR_SETS.items():
        monkeypatch.setenv(name, value)
    settings = ApiSettings()
    assert settings.database_url == OPERATOR_SETS["RAGLINE_API_DATABASE_URL"]
    assert settings.redis_url == OPERATOR_SETS["RAGLINE_API_REDIS_URL"]
    assert settings.registry_path == Path("/etc/ragline/registry/tenants.json")
    assert settings.keys_dir == Path("/etc/ragline/keys")
    assert settings.log_level == "DEBUG"
    fields = {f"RAGLINE_API_{name.upper()}" for name in ApiSettings.model_fields}
    assert set(OPERATOR_SETS) <= fields


def test_the_database_and_cache_are_required(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in OPERATOR_SETS:
        monkeypatch.delenv(name, raising=False)
    with pytest.raises(ValidationError):
        ApiSettings()
