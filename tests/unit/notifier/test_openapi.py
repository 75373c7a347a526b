"""The notifier's streams are documented as event streams, without starting anything."""

from __future__ import annotations

from ragline_notifier.app import openapi_document


def test_both_streams_are_documented_as_text_event_stream_with_their_filters() -> None:
    paths = openapi_document()["paths"]
    for path in ("/v1/stream/orders", "/v1/stream/notifications"):
        operation = paths[path]["get"]
        assert "text/event-stream" in operation["responses"]["200"]["content"]
        assert "429" in operation["responses"]
        names = {parameter["name"] for parameter in operation["parameters"]}
        assert {"type", "order_id", "Last-Event-ID", "lastEventId", "access_token"} <= names
