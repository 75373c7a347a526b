"""The relay's HTTP surface (probes, metrics, dead-letter admin) is documented."""

from __future__ import annotations

from ragline_relay.app import openapi_document

PROBLEM = "application/problem+json"


def test_the_dead_letter_admin_is_documented_with_problem_responses() -> None:
    document = openapi_document()
    paths = document["paths"]
    assert {"/healthz", "/readyz", "/metrics"} <= set(paths)
    listing = paths["/v1/admin/dead-letters"]["get"]
    assert {"401", "403"} <= set(listing["responses"])
    assert PROBLEM in listing["responses"]["403"]["content"]
    assert set(paths["/v1/admin/dead-letters/{event_id}"]) == {"get", "delete"}
    assert "post" in paths["/v1/admin/dead-letters/{event_id}/replay"]


def test_every_admin_operation_needs_a_token_and_answers_invalid_input_as_a_problem() -> None:
    document = openapi_document()
    assert document["components"]["securitySchemes"]["HTTPBearer"]["scheme"] == "bearer"
    for path, operations in document["paths"].items():
        if not path.startswith("/v1/admin/"):
            continue
        for method, operation in operations.items():
            assert operation["summary"], (method, path)
            assert operation["security"] == [{"HTTPBearer": []}], (method, path)
            assert PROBLEM in operation["responses"]["422"]["content"], (method, path)
    assert "HTTPValidationError" not in document["components"]["schemas"]
