"""The operator's e2e fixtures: CRDs and RBAC installed once, one operator process per module.

The operator runs as a local process authenticated with a token of its ServiceAccount, which is
bound only to the generated ClusterRole: anything the operator does that RBAC does not allow
fails these tests. Each test gets its own namespace (the plugin's ``namespace`` fixture).
"""

from __future__ import annotations

from collections.abc import Generator, Iterator
from pathlib import Path

import pytest

from ragline_dev.infra import PartState
from ragline_dev.infra.kube import Kubectl
from ragline_dev.operator_part import install_crds, install_rbac, issue_token
from ragline_dev.pytest_plugin import LocalInfra
from tests.e2e.operator.support import Backends, OperatorProcess, fake_llm


@pytest.fixture(scope="session")
def control_plane(local_infra: LocalInfra) -> Kubectl:
    """kubectl as cluster-admin, with the CRDs and the operator's RBAC installed."""
    admin = Kubectl.for_state(local_infra.ensure("kube"))
    install_crds(admin)
    install_rbac(admin)
    return admin


@pytest.fixture(scope="session")
def operator_kubeconfig(control_plane: Kubectl, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A kubeconfig holding a token of the operator's ServiceAccount (not cluster-admin)."""
    path = tmp_path_factory.mktemp("operator") / "operator.kubeconfig"
    control_plane.with_token(issue_token(control_plane), path)
    return path


@pytest.fixture(scope="module")
def operator(
    request: pytest.FixtureRequest,
    operator_kubeconfig: Path,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[OperatorProcess]:
    """The module's operator process (``OPERATOR_SETTINGS`` in a module adds settings)."""
    log = tmp_path_factory.mktemp("operator-log") / "operator.log"
    process = OperatorProcess(
        kubeconfig=operator_kubeconfig,
        log=log,
        settings=dict(getattr(request.module, "OPERATOR_SETTINGS", {})),
    )
    process.start()
    yield process
    process.stop()


@pytest.fixture(scope="session")
def llm_url() -> Iterator[str]:
    """A fake OpenAI-compatible endpoint (``GET /v1/models``) on 127.0.0.1."""
    with fake_llm() as url:
        yield url


@pytest.fixture
def backends(postgres: PartState, redis_url: str, llm_url: str) -> Backends:
    """The real PostgreSQL and Valkey (Kafka only where a test asks for it)."""
    return Backends(dsn=postgres.endpoints["dsn"], redis_url=redis_url, llm_url=llm_url)


@pytest.fixture
def kafka_backends(backends: Backends, kafka_bootstrap: str) -> Backends:
    """:func:`backends` plus the real Kafka."""
    return Backends(
        dsn=backends.dsn,
        redis_url=backends.redis_url,
        kafka_bootstrap=kafka_bootstrap,
        llm_url=backends.llm_url,
    )


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    """Attach the operator's log to a failed test."""
    report: pytest.TestReport = yield
    operator = getattr(item, "funcargs", {}).get("operator")
    if report.failed and isinstance(operator, OperatorProcess):
        report.sections.append(("operator log", operator.tail()))
    return report
