"""Property-based requests generated from the committed OpenAPI document against a live server:
no 5xx, and every response matches what the document declares."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import schemathesis
import uvicorn
from hypothesis import HealthCheck, Phase, given, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from ragline_api.app import create_app
from ragline_api.settings import ApiSettings
from ragline_dev import procs
from tests.integration.api.conftest import Tenants

pytestmark = pytest.mark.integration

OPENAPI = Path(__file__).resolve().parents[3] / "contracts" / "openapi" / "api.json"
# Enough to reach every status an operation declares; bounded so the run takes seconds.
EXAMPLES_PER_OPERATION = 25
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]


@pytest.fixture
def live_api(api_settings: ApiSettings) -> Iterator[str]:
    """The API served by uvicorn on 127.0.0.1 in a thread; yields its base URL."""
    port = procs.free_port()
    config = uvicorn.Config(
        create_app(api_settings),
        host="127.0.0.1",
        port=port,
        log_config=None,
        access_log=False,
        lifespan="on",
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 15
    while not server.started:
        assert time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=15)


def test_generated_requests_never_get_a_server_error(live_api: str, tenants: Tenants) -> None:
    schema = schemathesis.openapi.from_dict(json.loads(OPENAPI.read_text()))
    auth = tenants.headers("acme", roles=["admin"])
    operations = [result.ok() for result in schema.get_all_operations()]  # type: ignore[union-attr]
    assert len(operations) >= 10
    statuses: dict[str, set[int]] = {}

    for operation in operations:

        @settings(
            max_examples=EXAMPLES_PER_OPERATION,
            deadline=None,
            database=None,
            derandomize=True,
            phases=[Phase.explicit, Phase.generate],
            suppress_health_check=list(HealthCheck),
        )
        @given(case=operation.as_strategy())
        def exercise(case: Any) -> None:
            response = case.call(base_url=live_api, headers=auth, timeout=10)
            statuses.setdefault(case.operation.label, set()).add(response.status_code)
            case.validate_response(response, checks=CHECKS, headers=auth)

        exercise()

    assert set(statuses) == {operation.label for operation in operations}
    # The run reached the happy paths, not only the validation errors.
    assert 201 in statuses["POST /v1/products"]
    assert 200 in statuses["GET /v1/products"]
