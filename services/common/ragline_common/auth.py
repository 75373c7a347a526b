"""Verifying tenant tokens against the tenant registry, and minting them (dev, tests).

A token is a JWT carrying ``tenant_id``, ``user_id`` (or ``sub``) and ``roles``; ``exp``, ``iss``
and ``aud`` are required and checked against the tenant's registry entry. The tenant's keys decide
how it is verified: HS256 with one of its listed signing keys (the header's ``kid`` names it; the
secret is a mounted file), or, when the tenant names a ``jwksUrl``, an asymmetric algorithm with
the external issuer's published keys. The algorithm is never taken on the token's word alone: an
HS256 token is refused for a JWKS tenant and vice versa.

Verified tokens are cached until they expire (or their key's ``notAfter``); the cache is dropped
whenever the registry reloads, so a rotated key, issuer change or suspension applies at once.
"""

from __future__ import annotations

import asyncio
import time
from collections import OrderedDict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import jwt

from ragline_common.errors import ForbiddenError, UnauthorizedError
from ragline_common.registry import TenantEntry, TenantState
from ragline_common.registry_store import KeyStore, RegistryStore

SYMMETRIC_ALGORITHMS = ("HS256",)
ASYMMETRIC_ALGORITHMS = ("RS256", "RS384", "RS512", "PS256", "ES256", "ES384", "EdDSA")
# Enough for every active user of a busy pod; overflow evicts the least recently used.
TOKEN_CACHE_SIZE = 10_000
REQUIRED_CLAIMS = ["exp", "iss", "aud"]


@dataclass(frozen=True)
class Principal:
    """Who is calling: a user of one tenant with some roles."""

    tenant_id: str
    user_id: str
    roles: frozenset[str]

    def has_any(self, roles: Iterable[str]) -> bool:
        """Tell whether the principal holds at least one of ``roles``."""
        return not self.roles.isdisjoint(roles)


@dataclass(frozen=True)
class _Cached:
    principal: Principal
    valid_until: float


class JwksKeys:
    """Signing keys of external issuers, one cached PyJWT JWKS client per URL.

    Fetching a JWKS is blocking I/O, so it runs in a worker thread.
    """

    def __init__(self, *, cache_seconds: int = 300, timeout_seconds: int = 5) -> None:
        self._clients: dict[str, jwt.PyJWKClient] = {}
        self._cache_seconds = cache_seconds
        self._timeout = timeout_seconds

    async def key_for(self, url: str, token: str) -> Any:
        """Return the public key that signed ``token`` according to ``url``'s JWKS."""
        client = self._clients.get(url)
        if client is None:
            client = jwt.PyJWKClient(url, lifespan=self._cache_seconds, timeout=self._timeout)
            self._clients[url] = client
        try:
            signing_key = await asyncio.to_thread(client.get_signing_key_from_jwt, token)
        except jwt.PyJWKClientError as exc:
            raise UnauthorizedError("no matching key at the tenant's issuer") from exc
        return signing_key.key


class TokenVerifier:
    """Turns a bearer token into a :class:`Principal`, or raises 401/403 problems."""

    def __init__(
        self,
        *,
        registry: RegistryStore,
        keys: KeyStore,
        jwks: JwksKeys | None = None,
        leeway_seconds: int = 10,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.registry = registry
        self.keys = keys
        self.jwks = jwks or JwksKeys()
        self.leeway = leeway_seconds
        self._clock = clock
        self._cache: OrderedDict[str, _Cached] = OrderedDict()
        self._cache_revision = -1

    async def verify(self, token: str) -> Principal:
        """Verify ``token`` and return its principal.

        Raises :class:`UnauthorizedError` for a malformed, wrongly signed, expired token, a wrong
        issuer or audience, or an unknown tenant; :class:`ForbiddenError` for a suspended tenant
        (only once the token is proven genuine, so suspension is not revealed to strangers).
        """
        registry = self.registry.current()
        if self._cache_revision != self.registry.revision:
            self._cache.clear()
            self._cache_revision = self.registry.revision
        cached = self._cache.get(token)
        if cached is not None and cached.valid_until > self._clock():
            self._cache.move_to_end(token)
            principal = cached.principal
        else:
            self._cache.pop(token, None)
            principal, valid_until = await self._verify_uncached(token, registry.tenants)
            self._remember(token, _Cached(principal, valid_until))
        entry = registry.tenant(principal.tenant_id)
        if entry is None:
            raise UnauthorizedError("unknown tenant")
        if entry.state is TenantState.SUSPENDED:
            raise ForbiddenError("tenant is suspended")
        return principal

    def _remember(self, token: str, cached: _Cached) -> None:
        self._cache[token] = cached
        if len(self._cache) > TOKEN_CACHE_SIZE:
            self._cache.popitem(last=False)

    async def _verify_uncached(
        self, token: str, tenants: dict[str, TenantEntry]
    ) -> tuple[Principal, float]:
        try:
            header = jwt.get_unverified_header(token)
            unverified = jwt.decode(token, options={"verify_signature": False})
        except jwt.PyJWTError as exc:
            raise UnauthorizedError("malformed token") from exc
        tenant_id = unverified.get("tenant_id")
        entry = tenants.get(tenant_id) if isinstance(tenant_id, str) else None
        if entry is None:
            raise UnauthorizedError("unknown tenant")
        key, algorithm, key_deadline = await self._key(entry, header, token)
        try:
            claims = jwt.decode(
                token,
                key,
                algorithms=[algorithm],
                audience=entry.auth.audience,
                issuer=entry.auth.issuer,
                leeway=self.leeway,
                options={"require": REQUIRED_CLAIMS},
            )
        except jwt.ExpiredSignatureError as exc:
            raise UnauthorizedError("token expired") from exc
        except (jwt.InvalidAudienceError, jwt.InvalidIssuerError) as exc:
            raise UnauthorizedError("token not issued for this service") from exc
        except jwt.PyJWTError as exc:
            raise UnauthorizedError("invalid token") from exc
        principal = _principal(claims, tenant_id=entry.tenant_id)
        valid_until = min(float(claims["exp"]) + self.leeway, key_deadline)
        return principal, valid_until

    async def _key(
        self, entry: TenantEntry, header: dict[str, Any], token: str
    ) -> tuple[Any, str, float]:
        algorithm = header.get("alg")
        if entry.auth.jwks_url:
            if algorithm not in ASYMMETRIC_ALGORITHMS:
                raise UnauthorizedError("token algorithm not accepted for this tenant")
            key = await self.jwks.key_for(entry.auth.jwks_url, token)
            return key, algorithm, float("inf")
        if algorithm not in SYMMETRIC_ALGORITHMS:
            raise UnauthorizedError("token algorithm not accepted for this tenant")
        kid = header.get("kid")
        now = self._clock()
        for signing_key in entry.auth.signing_keys:
            if signing_key.kid != kid:
                continue
            deadline = signing_key.not_after.timestamp() if signing_key.not_after else float("inf")
            if deadline <= now:
                raise UnauthorizedError("signing key retired")
            secret = self.keys.secret(entry.tenant_id, signing_key.kid)
            if secret is None:
                raise UnauthorizedError("signing key unavailable")
            return secret, algorithm, deadline
        raise UnauthorizedError("unknown signing key")


def _principal(claims: dict[str, Any], *, tenant_id: str) -> Principal:
    user_id = claims.get("user_id", claims.get("sub"))
    roles = claims.get("roles")
    if not isinstance(user_id, str) or not user_id:
        raise UnauthorizedError("token names no user")
    if not isinstance(roles, list) or not all(isinstance(role, str) for role in roles):
        raise UnauthorizedError("token roles must be a list of strings")
    return Principal(tenant_id=tenant_id, user_id=user_id, roles=frozenset(roles))


def bearer_token(authorization: str | None) -> str:
    """Return the token of an ``Authorization: Bearer <token>`` header, or raise 401."""
    if not authorization:
        raise UnauthorizedError("missing bearer token")
    scheme, _, token = authorization.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise UnauthorizedError("missing bearer token")
    return token.strip()


@dataclass(frozen=True)
class TokenSpec:
    """What a minted token says."""

    tenant_id: str
    user_id: str
    roles: Sequence[str]
    issuer: str
    audience: str = "ragline"
    ttl_seconds: int = 3600
    extra: dict[str, Any] = field(default_factory=dict)


def mint_token(spec: TokenSpec, *, secret: bytes | str, kid: str, now: float | None = None) -> str:
    """Sign an HS256 tenant token.

    For local development and tests: production keys are the operator's, and external issuers
    sign their own. ``extra`` claims override the standard ones (tests use it to forge bad ones).
    """
    issued = int(time.time() if now is None else now)
    claims: dict[str, Any] = {
        "tenant_id": spec.tenant_id,
        "user_id": spec.user_id,
        "sub": spec.user_id,
        "roles": list(spec.roles),
        "iss": spec.issuer,
        "aud": spec.audience,
        "iat": issued,
        "exp": issued + spec.ttl_seconds,
        **spec.extra,
    }
    return jwt.encode(claims, secret, algorithm="HS256", headers={"kid": kid})
