"""Demo tenants: the registry written, tokens minted for it verify like the API verifies them."""

from __future__ import annotations

from pathlib import Path

import pytest

from ragline_common.auth import TokenVerifier
from ragline_common.registry_store import KeyStore, RegistryStore
from ragline_dev import cli
from ragline_dev.dev_tenants import (
    DEMO_MENU,
    keys_dir,
    mint_dev_token,
    registry_path,
    write_dev_tenants,
)


async def test_a_dev_token_verifies_against_the_dev_registry(tmp_path: Path) -> None:
    token = mint_dev_token(tmp_path, tenant_id="demo", user_id="dev", roles=["customer"])
    verifier = TokenVerifier(
        registry=RegistryStore(registry_path(tmp_path)), keys=KeyStore(keys_dir(tmp_path))
    )
    principal = await verifier.verify(token)
    assert (principal.tenant_id, principal.user_id) == ("demo", "dev")
    assert principal.roles == frozenset({"customer"})


def test_rewriting_keeps_the_secrets(tmp_path: Path) -> None:
    write_dev_tenants(tmp_path)
    before = {p: p.read_text() for p in keys_dir(tmp_path).rglob("*") if p.is_file()}
    write_dev_tenants(tmp_path)
    after = {p: p.read_text() for p in keys_dir(tmp_path).rglob("*") if p.is_file()}
    assert before == after
    assert len(before) == 2


def test_the_demo_menu_has_six_distinct_items() -> None:
    assert len({item["sku"] for item in DEMO_MENU}) == 6


def test_the_token_command_prints_a_token_or_names_the_known_tenants(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert cli.main(["--stack-dir", str(tmp_path), "token", "--tenant", "acme"]) == 0
    assert capsys.readouterr().out.count(".") == 2
    assert cli.main(["--stack-dir", str(tmp_path), "token", "--tenant", "nope"]) == 2
    assert "acme, demo" in capsys.readouterr().err
