"""First light: the service starts, ingests and answers."""

from __future__ import annotations

import pytest

from tests.integration.llm.conftest import Llm, Tenants, Upstream
from tests.integration.llm.fake_openai import reply
from tests.integration.llm.knowledge import ingest_demo

pytestmark = pytest.mark.integration


async def test_chat_answers_whole(llm: Llm, tenants: Tenants, upstream: Upstream) -> None:
    result = await ingest_demo(llm, tenants, "acme")
    assert result["documents"] == 13
    upstream.fake.script(reply("We open at 11:30."))
    response = await llm.client.post(
        "/v1/chat",
        json={"messages": [{"role": "user", "content": "When do you open?"}]},
        headers=tenants.headers("acme"),
    )
    assert response.status_code == 200, response.text
    assert response.json()["message"]["content"] == "We open at 11:30."
