"""Cursors round-trip, and a forged one is a 422 on the ``cursor`` query parameter."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import pytest

from ragline_api.pagination import decode_cursor, encode_cursor
from ragline_common.errors import UnprocessableError


def test_a_cursor_names_its_position() -> None:
    position = (datetime(2026, 11, 22, 1, 2, 3, 456789, tzinfo=UTC), uuid.uuid4())
    assert decode_cursor(encode_cursor(*position)) == position


@pytest.mark.parametrize(
    "cursor", ["", "nonsense", "W10", "WyJ4IiwgInkiXQ", "WyIyMDI2LTExLTIyVDAxOjAyOjAzIiwgIngiXQ"]
)
def test_cursors_we_did_not_issue_are_refused(cursor: str) -> None:
    with pytest.raises(UnprocessableError) as refused:
        decode_cursor(cursor)
    assert refused.value.errors[0].field == "cursor"
    assert refused.value.errors[0].location == "query"
