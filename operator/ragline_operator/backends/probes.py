"""Probes of a RagPipeline's dependencies: its PostgreSQL (with pgvector) and its LLM endpoint.

A probe answers what a user would otherwise learn from a crash-looping pod: the database refuses
the DSN, pgvector is not installable there, the model endpoint is down or refuses the key.
"""

from __future__ import annotations

import asyncio

import asyncpg
import httpx

from ragline_operator.backends.common import ProbeResult, describe, redact_url, scrub

# pgvector must be installable (the migrations run CREATE EXTENSION IF NOT EXISTS vector).
PGVECTOR_QUERY = "SELECT count(*) FROM pg_available_extensions WHERE name = 'vector'"


async def probe_database(dsn: str, *, seconds: float) -> ProbeResult:
    """Connect, and check that the ``vector`` extension is available."""
    where = redact_url(dsn)
    try:
        async with asyncio.timeout(seconds):
            connection = await asyncpg.connect(dsn, timeout=seconds)
            try:
                available = await connection.fetchval(PGVECTOR_QUERY)
            finally:
                await connection.close(timeout=seconds)
    except Exception as exc:  # asyncpg raises many types for "cannot connect / refused"
        message = scrub(f"PostgreSQL at {where}: {describe(exc)}", [dsn])
        return ProbeResult(ok=False, reason="Unreachable", message=message)
    if not available:
        return ProbeResult(
            ok=False,
            reason="PgvectorUnavailable",
            message=f"PostgreSQL at {where} has no pgvector ('vector' extension) to install",
        )
    return ProbeResult(ok=True, reason="Connected", message=f"PostgreSQL at {where}, pgvector")


async def probe_llm(base_url: str, api_key: str | None, *, seconds: float) -> ProbeResult:
    """``GET <baseURL>/models`` with the key, as the OpenAI client would authenticate."""
    headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
    url = f"{base_url.rstrip('/')}/models"
    try:
        async with httpx.AsyncClient(timeout=seconds) as http:
            response = await http.get(url, headers=headers)
    except httpx.HTTPError as exc:
        message = scrub(f"{base_url}: {describe(exc)}", [api_key])
        return ProbeResult(ok=False, reason="Unreachable", message=message)
    if response.status_code in (httpx.codes.UNAUTHORIZED, httpx.codes.FORBIDDEN):
        return ProbeResult(
            ok=False,
            reason="Unauthorized",
            message=f"{base_url} refused the key in spec.llm.apiKey ({response.status_code})",
        )
    if response.is_error:
        return ProbeResult(
            ok=False,
            reason="Unhealthy",
            message=f"GET {url} answered {response.status_code}",
        )
    return ProbeResult(ok=True, reason="Reachable", message=f"{base_url} lists its models")
