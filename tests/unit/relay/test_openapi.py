"""The relay's HTTP surface (probes, metrics, dead-letter admin) is documented."""

from __future__ import annotations

from ragline_relay.app import openapi_document


def test_the_dead_letter_admin_is_documented_with_problem_responses() -> None:
    document = openapi_document()
    paths = document["paths"]
    assert {"/healthz", "/readyz", "/metrics"} <= set(paths)
    listing = paths["/v1/admin/dead-letters"]["get"]
    assert {"401", "403"} <= set(listing["responses"])
    assert "application/problem+json" in listing["responses"]["403"]["content"]
    assert set(paths["/v1/admin/dead-letters/{event_id}"]) == {"get", "delete"}
    assert "post" in paths["/v1/admin/dead-letters/{event_id}/replay"]
