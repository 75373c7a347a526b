"""Problem documents: field names, no input echoed, statuses kept."""

from __future__ import annotations

import json

from ragline_common.errors import (
    FieldProblem,
    RateLimitedError,
    UnauthorizedError,
    UnprocessableError,
    field_name,
    problem_response,
    validation_problems,
)


def test_field_names_read_like_paths() -> None:
    assert field_name(["lines", 0, "quantity"]) == "lines[0].quantity"
    assert field_name(["sku"]) == "sku"
    assert field_name([]) == ""


def test_validation_problems_name_location_and_field_but_not_the_input() -> None:
    problems = validation_problems(
        [
            {
                "loc": ("body", "lines", 2, "product_id"),
                "msg": "bad uuid",
                "type": "uuid_parsing",
                "input": "secret-ish",
            },
            {"loc": ("header", "Idempotency-Key"), "msg": "Field required", "type": "missing"},
        ]
    )
    assert problems == [
        FieldProblem(
            field="lines[2].product_id", message="bad uuid", location="body", type="uuid_parsing"
        ),
        FieldProblem(
            field="Idempotency-Key", message="Field required", location="header", type="missing"
        ),
    ]
    assert "secret-ish" not in repr(problems)


def test_problem_response_is_problem_json_with_headers() -> None:
    response = problem_response(RateLimitedError(retry_after_seconds=3), instance="/v1/x")
    assert response.status_code == 429
    assert response.media_type == "application/problem+json"
    assert response.headers["retry-after"] == "3"
    body = json.loads(bytes(response.body))
    assert body["status"] == 429
    assert body["instance"] == "/v1/x"
    assert body["type"] == "https://ragline.dev/problems/rate-limited"


def test_unauthorized_carries_a_bearer_challenge_and_errors_are_listed() -> None:
    assert UnauthorizedError("x").headers["WWW-Authenticate"].startswith("Bearer")
    error = UnprocessableError("bad", errors=[FieldProblem(field="sku", message="taken")])
    body = json.loads(bytes(problem_response(error).body))
    assert body["errors"] == [
        {"field": "sku", "message": "taken", "location": "body", "type": "invalid"}
    ]
