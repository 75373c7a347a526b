"""Constraints every free-text input shares."""

from __future__ import annotations

# PostgreSQL text cannot hold NUL; refuse it at the edge as a 422 naming the field instead of
# letting the database fail the request.
NO_NUL_PATTERN = r"^[^\x00]*$"
