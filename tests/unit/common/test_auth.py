"""Token verification against the registry, without HTTP."""

from __future__ import annotations

from pathlib import Path

import pytest

from ragline_common.auth import Principal, TokenSpec, TokenVerifier, bearer_token, mint_token
from ragline_common.errors import ForbiddenError, UnauthorizedError
from ragline_common.registry import (
    SigningKey,
    TenantAuth,
    TenantEntry,
    TenantRegistry,
    TenantState,
)
from ragline_common.registry_store import KeyStore, RegistryStore

SECRET = "q" * 48


def setup(tmp_path: Path, state: TenantState = TenantState.ACTIVE) -> TokenVerifier:
    (tmp_path / "keys" / "acme").mkdir(parents=True)
    (tmp_path / "keys" / "acme" / "k1").write_text(SECRET)
    entry = TenantEntry(
        tenant_id="acme",
        state=state,
        auth=TenantAuth(issuer="https://acme", signing_keys=[SigningKey(kid="k1")]),
    )
    (tmp_path / "tenants.json").write_text(
        TenantRegistry(tenants={"acme": entry}).model_dump_json(by_alias=True)
    )
    return TokenVerifier(
        registry=RegistryStore(tmp_path / "tenants.json", reload_seconds=0),
        keys=KeyStore(tmp_path / "keys"),
    )


def token(**overrides: object) -> str:
    spec = TokenSpec(
        tenant_id="acme",
        user_id="ann",
        roles=["staff"],
        issuer="https://acme",
        extra=dict(overrides),
    )
    return mint_token(spec, secret=SECRET, kid="k1")


async def test_a_good_token_gives_the_principal(tmp_path: Path) -> None:
    verifier = setup(tmp_path)
    principal = await verifier.verify(token())
    assert principal == Principal(tenant_id="acme", user_id="ann", roles=frozenset({"staff"}))
    assert principal.has_any(["admin", "staff"])
    assert not principal.has_any(["customer"])
    assert await verifier.verify(token()) == principal  # and again, from the cache


@pytest.mark.parametrize(
    "overrides",
    [
        {"exp": 1},
        {"iss": "https://other"},
        {"aud": "other"},
        {"roles": "staff"},
        {"user_id": "", "sub": ""},
        {"tenant_id": 7},
    ],
)
async def test_bad_claims_are_unauthorized(tmp_path: Path, overrides: dict[str, object]) -> None:
    verifier = setup(tmp_path)
    with pytest.raises(UnauthorizedError):
        await verifier.verify(token(**overrides))


async def test_suspended_tenants_are_forbidden(tmp_path: Path) -> None:
    verifier = setup(tmp_path, TenantState.SUSPENDED)
    with pytest.raises(ForbiddenError):
        await verifier.verify(token())


@pytest.mark.parametrize("header", [None, "", "Basic x", "Bearer ", "bearer"])
def test_bearer_header_must_carry_a_token(header: str | None) -> None:
    with pytest.raises(UnauthorizedError):
        bearer_token(header)


def test_bearer_header_is_parsed() -> None:
    assert bearer_token("Bearer abc.def") == "abc.def"
