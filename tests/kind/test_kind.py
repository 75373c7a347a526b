"""RAGline whole in a kind cluster: image, chart, samples, and an order reaching an SSE client.

Needs Docker and kind, which this project's own machines do not have (no Docker engine): there the
test is skipped with the reason. It is deliberately thin: the chart, the samples and the services
are proven on the local control plane and as local processes; this only adds real images, real
pods and real networking.
"""

from __future__ import annotations

import base64
import json
import socket
import subprocess
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

import httpx
import pytest

from ragline_common.auth import TokenSpec, mint_token
from ragline_dev import kind

MISSING = kind.missing_tools()
pytestmark = [
    pytest.mark.kind,
    pytest.mark.skipif(
        bool(MISSING), reason=f"the kind e2e needs {', '.join(MISSING)} (absent here)"
    ),
    pytest.mark.timeout(3600),
]
SSE_WAIT_SECONDS = 60.0


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@contextmanager
def port_forward(cluster: kind.Kind, service: str) -> Iterator[str]:
    """``kubectl port-forward`` to a Service on 127.0.0.1; yields its base URL."""
    port = _free_port()
    proc = subprocess.Popen(
        [
            cluster.kubectl, f"--context={kind.CONTEXT}", "-n", kind.SAMPLES_NAMESPACE,
            "port-forward", f"svc/{service}", f"{port}:8080", "--address=127.0.0.1",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            with socket.socket() as sock:
                if sock.connect_ex(("127.0.0.1", port)) == 0:
                    break
            time.sleep(0.2)
        yield f"http://127.0.0.1:{port}"
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def _token(cluster: kind.Kind, *, roles: list[str]) -> str:
    """A token signed with the key the operator generated for the demo tenant."""
    ns = kind.SAMPLES_NAMESPACE
    status = json.loads(cluster.kube("get", "tenantconfig", "demo", "-n", ns, "-o", "json"))
    kid, issuer = status["status"]["keyId"], status["status"]["issuer"]
    secret = json.loads(cluster.kube("get", "secret", "demo-signing-key", "-n", ns, "-o", "json"))
    material = base64.b64decode(secret["data"][kid])
    spec = TokenSpec(tenant_id="demo", user_id="kind-e2e", roles=roles, issuer=issuer)
    return mint_token(spec, secret=material, kid=kid)


@pytest.fixture(scope="module")
def cluster() -> kind.Kind:
    return kind.up()


def test_an_order_reaches_an_sse_client(cluster: kind.Kind) -> None:
    staff = {"Authorization": f"Bearer {_token(cluster, roles=['staff'])}"}
    with (
        port_forward(cluster, "shop-api") as api,
        port_forward(cluster, "orders-notifier") as notifier,
        httpx.Client(timeout=30) as client,
    ):
        product = client.post(
            f"{api}/v1/products",
            headers=staff,
            json={"sku": f"kind-{uuid.uuid4().hex[:6]}", "name": "Kind pizza", "price_cents": 900},
        )
        assert product.status_code == 201, product.text
        with client.stream(
            "GET", f"{notifier}/v1/stream/orders", headers=staff, timeout=SSE_WAIT_SECONDS
        ) as events:
            assert events.status_code == 200
            order = client.post(
                f"{api}/v1/orders",
                headers={**staff, "Idempotency-Key": uuid.uuid4().hex},
                json={"lines": [{"product_id": product.json()["id"], "quantity": 1}]},
            )
            assert order.status_code == 201, order.text
            deadline = time.monotonic() + SSE_WAIT_SECONDS
            for line in events.iter_lines():
                if line.startswith("data:") and order.json()["id"] in line:
                    return
                assert time.monotonic() < deadline, "no SSE event for the order in time"
    pytest.fail("the SSE stream ended before the order's event arrived")
