"""The notifier's streams are documented as event streams, without starting anything."""

from __future__ import annotations

from fastapi.routing import APIWebSocketRoute

from ragline_notifier.app import openapi_document
from ragline_notifier.ws import router as ws_router
from ragline_notifier.ws_openapi import PATH, close_codes

EITHER_TOKEN: list[dict[str, list[str]]] = [{"HTTPBearer": []}, {"AccessTokenQuery": []}]


def test_both_streams_are_documented_as_text_event_stream_with_their_filters() -> None:
    paths = openapi_document()["paths"]
    for path in ("/v1/stream/orders", "/v1/stream/notifications"):
        operation = paths[path]["get"]
        assert "text/event-stream" in operation["responses"]["200"]["content"]
        assert {"401", "422", "429"} <= set(operation["responses"])
        problem = operation["responses"]["422"]["content"]
        assert "application/problem+json" in problem
        names = {parameter["name"] for parameter in operation["parameters"]}
        assert {"type", "order_id", "Last-Event-ID", "lastEventId"} <= names
        # The token is a security scheme (header or query), not a plain parameter.
        assert operation["security"] == EITHER_TOKEN
        assert "access_token" not in names


def test_the_token_schemes_say_where_the_token_goes() -> None:
    schemes = openapi_document()["components"]["securitySchemes"]
    assert schemes["HTTPBearer"]["scheme"] == "bearer"
    assert schemes["AccessTokenQuery"] == schemes["AccessTokenQuery"] | {
        "type": "apiKey",
        "in": "query",
        "name": "access_token",
    }


def test_the_websocket_is_documented_with_the_parameters_the_route_reads() -> None:
    document = openapi_document()
    operation = document["paths"][PATH]["get"]
    assert operation["security"] == EITHER_TOKEN
    route = next(r for r in ws_router.routes if isinstance(r, APIWebSocketRoute))
    assert route.path == PATH
    read = {param.alias for param in route.dependant.query_params} - {"access_token"}
    assert {parameter["name"] for parameter in operation["parameters"]} == read
    for message in operation["x-websocket-messages"]["oneOf"]:
        name = message["$ref"].rsplit("/", 1)[1]
        assert "kind" in document["components"]["schemas"][name]["properties"]


def test_every_close_code_the_server_uses_is_explained() -> None:
    codes = close_codes()
    # Refusals mirror HTTP statuses; session endings: expired, suspended, slow, restart.
    assert {"4001", "4003", "4008", "4029", "4400", "1011", "1012", "1013"} <= set(codes)
    assert "token expired" in codes["4001"]
