"""Every generated file in the repository matches what its source generates now."""

import pytest

from ragline_dev import generate

HTTP_SERVICES = ("api", "llm", "relay", "notifier")


@pytest.mark.parametrize("path", sorted(generate.render_all()))
def test_generated_file_is_up_to_date(path: str) -> None:
    documents = generate.render_all()
    problems = generate.drift({path: documents[path]})
    assert not problems, problems[0]


def test_every_http_service_has_a_generated_openapi_contract() -> None:
    generated = set(generate.render_all())
    assert {f"contracts/openapi/{service}.json" for service in HTTP_SERVICES} <= generated
