"""`ragline up` brings the services up on the local infrastructure, seeded and reachable."""

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

pytestmark = pytest.mark.integration

CLI = [sys.executable, "-m", "ragline_dev.cli"]


def ragline(stack: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*CLI, "--stack-dir", str(stack), "--no-kafka", "--no-kube", *args],
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )


@pytest.fixture(scope="module")
def platform(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    stack = tmp_path_factory.mktemp("platform")
    started = ragline(stack, "up", "--detach")
    assert started.returncode == 0, started.stderr + started.stdout
    yield stack
    ragline(stack, "down")


def endpoint(stack: Path, part: str) -> str:
    parts = json.loads(ragline(stack, "status", "--json").stdout)["parts"]
    url: str = parts[part]["endpoints"]["url"]
    return url


def test_up_prints_what_runs_where_and_what_to_try(platform: Path) -> None:
    again = ragline(platform, "up", "--detach")
    assert again.returncode == 0
    assert "What to try:" in again.stdout
    assert f"{endpoint(platform, 'api')}/v1/products" in again.stdout
    assert "token --tenant demo" in again.stdout


def test_the_api_serves_the_seeded_menu_to_a_minted_token(platform: Path) -> None:
    token = ragline(platform, "token", "--tenant", "demo", "--role", "customer").stdout.strip()
    api = endpoint(platform, "api")
    response = httpx.get(f"{api}/v1/products", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 200
    assert len(response.json()["items"]) == 6

    other = ragline(platform, "token", "--tenant", "acme", "--role", "customer").stdout.strip()
    response = httpx.get(f"{api}/v1/products", headers={"Authorization": f"Bearer {other}"})
    assert response.status_code == 200
    assert response.json()["items"] == []


def test_the_chat_service_is_ready_with_the_demo_knowledge_indexed(platform: Path) -> None:
    ready = httpx.get(f"{endpoint(platform, 'llm')}/readyz")
    assert ready.status_code == 200
    index = ready.json()["index"]
    assert index["serving"] == index["target"]
    assert not index["building"]


def test_token_for_an_unknown_tenant_is_refused(platform: Path) -> None:
    result = ragline(platform, "token", "--tenant", "nobody")
    assert result.returncode == 2
    assert "unknown tenant 'nobody'" in result.stderr


def test_an_order_reaches_an_sse_client_of_its_tenant(platform: Path) -> None:
    token = ragline(platform, "token", "--tenant", "demo", "--role", "staff").stdout.strip()
    headers = {"Authorization": f"Bearer {token}"}
    api, notifier = endpoint(platform, "api"), endpoint(platform, "notifier")
    product = httpx.get(f"{api}/v1/products", headers=headers).json()["items"][0]
    with (
        httpx.Client(timeout=httpx.Timeout(10.0, read=15.0)) as client,
        client.stream("GET", f"{notifier}/v1/stream/orders", headers=headers) as stream,
    ):
        assert stream.status_code == 200
        order = httpx.post(
            f"{api}/v1/orders",
            json={"lines": [{"product_id": product["id"], "quantity": 1}]},
            headers={**headers, "Idempotency-Key": "platform-sse-1"},
        )
        assert order.status_code == 201, order.text
        order_id = order.json()["id"]
        for line in stream.iter_lines():  # bounded by the read timeout
            if line.startswith("data:") and order_id in line:
                event = json.loads(line.removeprefix("data:"))
                assert event["type"] == "order.created.v1"
                assert event["tenantid"] == "demo"
                break
        else:
            raise AssertionError("the stream ended without the order's event")
