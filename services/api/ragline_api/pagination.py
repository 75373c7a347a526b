"""Keyset pagination: an opaque cursor naming the last row of a page by ``(created_at, id)``.

Keyset rather than OFFSET: a page costs the same however deep it is, and rows inserted meanwhile
neither repeat nor vanish between pages.
"""

from __future__ import annotations

import base64
import binascii
import json
import uuid
from datetime import datetime

from ragline_common.errors import FieldProblem, UnprocessableError

DEFAULT_PAGE_SIZE = 20
MAX_PAGE_SIZE = 100


def encode_cursor(created_at: datetime, row_id: uuid.UUID) -> str:
    """Return the cursor after the row ``(created_at, row_id)``."""
    raw = json.dumps([created_at.isoformat(), str(row_id)]).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[datetime, uuid.UUID]:
    """Return the position a cursor names; a cursor we did not issue is a 422 on ``cursor``."""
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        created_at, row_id = json.loads(raw)
        position = datetime.fromisoformat(created_at), uuid.UUID(row_id)
    except (ValueError, TypeError, binascii.Error, UnicodeDecodeError) as exc:
        raise UnprocessableError(
            "invalid cursor",
            errors=[FieldProblem(field="cursor", message="not a cursor", location="query")],
        ) from exc
    if position[0].tzinfo is None:
        raise UnprocessableError(
            "invalid cursor",
            errors=[FieldProblem(field="cursor", message="not a cursor", location="query")],
        )
    return position
