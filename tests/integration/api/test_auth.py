"""The auth matrix: who gets 401, who gets 403, and what a registry change does at once."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

from ragline_common.registry import SigningKey, TenantAuth, TenantEntry, TenantState
from tests.integration.api.conftest import GENEROUS, Api, Tenants, issuer

pytestmark = pytest.mark.integration

PRODUCTS = "/v1/products"


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def assert_unauthorized(api: Api, headers: dict[str, str]) -> None:
    response = await api.client.get(PRODUCTS, headers=headers)
    assert response.status_code == 401, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert response.headers["www-authenticate"].startswith("Bearer")
    assert "Traceback" not in response.text


async def test_a_valid_token_is_accepted(api: Api, tenants: Tenants) -> None:
    response = await api.client.get(PRODUCTS, headers=tenants.headers("acme", roles=["customer"]))
    assert response.status_code == 200, response.text


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"Authorization": "Basic YWxpY2U6c2VjcmV0"},
        {"Authorization": "Bearer"},
        {"Authorization": "Bearer not.a.jwt"},
    ],
    ids=["missing", "basic", "empty-bearer", "garbage"],
)
async def test_missing_or_malformed_tokens_are_401(api: Api, headers: dict[str, str]) -> None:
    await assert_unauthorized(api, headers)


async def test_bad_tokens_are_401(api: Api, tenants: Tenants) -> None:
    acme_secret = tenants.secrets["acme"]
    bad = {
        "wrong secret": tenants.token("acme", secret="x" * 48),
        "expired": tenants.token("acme", ttl_seconds=-3600),
        "wrong issuer": tenants.token("acme", claims={"iss": "https://evil.example"}),
        "wrong audience": tenants.token("acme", claims={"aud": "somebody-else"}),
        "unknown tenant": tenants.token("acme", claims={"tenant_id": "nobody"}),
        "other tenant's claim, own key": tenants.token("acme", claims={"tenant_id": "globex"}),
        "unknown kid": tenants.token("acme", kid="k9"),
        "no roles": jwt.encode(
            {
                "tenant_id": "acme",
                "user_id": "alice",
                "iss": issuer("acme"),
                "aud": "ragline",
                "exp": int(datetime.now(UTC).timestamp()) + 60,
            },
            acme_secret,
            algorithm="HS256",
            headers={"kid": "k1"},
        ),
        "no exp": jwt.encode(
            {
                "tenant_id": "acme",
                "user_id": "a",
                "roles": [],
                "iss": issuer("acme"),
                "aud": "ragline",
            },
            acme_secret,
            algorithm="HS256",
            headers={"kid": "k1"},
        ),
        "alg none": jwt.encode(
            {"tenant_id": "acme", "user_id": "a", "roles": ["staff"]},
            "",
            algorithm="none",
            headers={"kid": "k1"},
        ),
    }
    for reason, token in bad.items():
        response = await api.client.get(PRODUCTS, headers=bearer(token))
        assert response.status_code == 401, (reason, response.text)
        assert acme_secret not in response.text


async def test_wrong_role_is_403(api: Api, tenants: Tenants) -> None:
    customer = tenants.headers("acme", roles=["customer"])
    response = await api.client.post(
        PRODUCTS, json={"sku": "x", "name": "X", "price_cents": 1}, headers=customer
    )
    assert response.status_code == 403
    assert response.headers["content-type"] == "application/problem+json"
    nobody = tenants.headers("acme", roles=["auditor"])
    assert (await api.client.get(PRODUCTS, headers=nobody)).status_code == 403
    assert (await api.client.get("/v1/orders", headers=nobody)).status_code == 403


async def test_suspended_tenant_is_403_and_suspension_applies_at_once(
    api: Api, tenants: Tenants
) -> None:
    suspended = await api.client.get(PRODUCTS, headers=tenants.headers("initech"))
    assert suspended.status_code == 403
    assert "suspended" in suspended.json()["detail"]

    headers = tenants.headers("acme")
    assert (await api.client.get(PRODUCTS, headers=headers)).status_code == 200
    tenants.set_state("acme", TenantState.SUSPENDED)
    assert (await api.client.get(PRODUCTS, headers=headers)).status_code == 403
    tenants.set_state("acme", TenantState.ACTIVE)
    assert (await api.client.get(PRODUCTS, headers=headers)).status_code == 200


async def test_a_retired_signing_key_no_longer_verifies(api: Api, tenants: Tenants) -> None:
    headers = tenants.headers("acme")
    assert (await api.client.get(PRODUCTS, headers=headers)).status_code == 200
    retired = SigningKey(kid="k1", not_after=datetime.now(UTC) - timedelta(seconds=1))
    entry = tenants.entries["acme"]
    tenants.entries["acme"] = entry.model_copy(
        update={"auth": entry.auth.model_copy(update={"signing_keys": [retired]})}
    )
    tenants.publish()
    await assert_unauthorized(api, headers)


@pytest.fixture
def jwks_server() -> Iterator[tuple[str, rsa.RSAPrivateKey]]:
    """An external issuer's JWKS endpoint on 127.0.0.1."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    jwk = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(key.public_key()))
    body = json.dumps({"keys": [{**jwk, "kid": "ext-1", "use": "sig", "alg": "RS256"}]}).encode()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}/jwks.json", key
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


async def test_external_issuer_tokens_verify_against_its_jwks(
    api: Api, tenants: Tenants, jwks_server: tuple[str, rsa.RSAPrivateKey]
) -> None:
    url, key = jwks_server
    tenants.entries["umbrella"] = TenantEntry(
        tenant_id="umbrella",
        auth=TenantAuth(issuer="https://login.umbrella.example", jwks_url=url),
        limits=GENEROUS,
    )
    tenants.publish()
    claims = {
        "tenant_id": "umbrella",
        "sub": "bob",
        "roles": ["customer"],
        "iss": "https://login.umbrella.example",
        "aud": "ragline",
        "exp": int(datetime.now(UTC).timestamp()) + 300,
    }
    token = jwt.encode(claims, key, algorithm="RS256", headers={"kid": "ext-1"})
    assert (await api.client.get(PRODUCTS, headers=bearer(token))).status_code == 200
    # A tenant with an external issuer accepts no HS256 token, whatever secret signed it.
    forged = jwt.encode(claims, "y" * 48, algorithm="HS256", headers={"kid": "ext-1"})
    await assert_unauthorized(api, bearer(forged))
    other_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    wrong = jwt.encode(claims, other_key, algorithm="RS256", headers={"kid": "ext-1"})
    await assert_unauthorized(api, bearer(wrong))
