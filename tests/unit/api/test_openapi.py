"""The OpenAPI document builds without any connection and documents problems and security."""

from __future__ import annotations

from ragline_api.app import openapi_document


def test_every_v1_operation_is_secured_and_documents_problem_responses() -> None:
    document = openapi_document()
    assert document["components"]["securitySchemes"]["HTTPBearer"]["scheme"] == "bearer"
    operations = [
        (path, method, operation)
        for path, item in document["paths"].items()
        if path.startswith("/v1/")
        for method, operation in item.items()
    ]
    assert len(operations) == 9
    for path, method, operation in operations:
        assert operation["security"] == [{"HTTPBearer": []}], (path, method)
        for status in ("401", "403", "422", "429"):
            content = operation["responses"][status]["content"]
            assert "application/problem+json" in content, (path, method, status)
    assert "HTTPValidationError" not in document["components"]["schemas"]
