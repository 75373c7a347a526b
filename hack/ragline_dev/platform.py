"""The whole local platform: infrastructure first, then RAGline's services on top of it.

``ragline up`` starts these parts in order. Each service reads its dependencies' endpoints from the
stack directory, so a service can be restarted alone while the infrastructure keeps running.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path

from ragline_dev import dev_tenants
from ragline_dev.infra import Part, PartState, default_parts
from ragline_dev.infra.service import ServicePart

TENANTS_DIR = "tenants"


def tenants_dir(workdir: Path) -> Path:
    """The dev tenant registry and keys of the stack that ``workdir`` belongs to."""
    return workdir.parent / TENANTS_DIR


def _api_env(workdir: Path, deps: Mapping[str, PartState], port: int) -> dict[str, str]:
    return dev_tenants.api_environment(
        database_url=deps["postgres"].endpoints["dsn"],
        redis_url=deps["valkey"].endpoints["url"],
        directory=tenants_dir(workdir),
    )


def _api_prepare(workdir: Path, deps: Mapping[str, PartState]) -> None:
    dev_tenants.write_dev_tenants(tenants_dir(workdir))
    env = {**os.environ, **_api_env(workdir, deps, 0)}
    with (workdir / "migrate.log").open("ab") as log:
        subprocess.run(
            [sys.executable, "-m", "ragline_api", "migrate"],
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            check=True,
            timeout=120,
        )


def _api_seed(workdir: Path, state: PartState) -> None:
    token = dev_tenants.mint_dev_token(
        tenants_dir(workdir), tenant_id="demo", user_id="seed", roles=["staff"]
    )
    dev_tenants.seed_menu(state.endpoints["url"], token)


def api_part() -> ServicePart:
    """The API, migrated and seeded with the demo tenants' menu."""
    return ServicePart(
        name="api",
        module="ragline_api",
        env=_api_env,
        depends_on=("postgres", "valkey"),
        prepare=_api_prepare,
        args=lambda port: ["serve", "--host", "127.0.0.1", "--port", str(port)],
        after_start=_api_seed,
    )


def platform_parts(*, kafka: bool = True, kube: bool = True, services: bool = True) -> list[Part]:
    """Every part of the local platform, in start order."""
    parts = default_parts(kafka=kafka, kube=kube)
    if services:
        parts.append(api_part())
    return parts
