"""The literals of the one statement that cannot take parameters (a session begun on the driver)."""

from __future__ import annotations

import pytest

from ragline_common.db import begin_scope_sql, quote_literal


@pytest.mark.parametrize(
    ("value", "literal"),
    [
        ("acme", "E'acme'"),
        ("o'brien", "E'o''brien'"),
        ("back\\slash", "E'back\\\\slash'"),
        ("\\'; DROP TABLE orders; --", "E'\\\\''; DROP TABLE orders; --'"),
        ("", "E''"),
    ],
)
def test_a_literal_doubles_quotes_and_backslashes(value: str, literal: str) -> None:
    assert quote_literal(value) == literal


def test_a_nul_is_refused_rather_than_truncated() -> None:
    with pytest.raises(ValueError, match="NUL"):
        quote_literal("acme\x00globex")


def test_the_scope_begins_a_transaction_and_sets_role_then_tenant() -> None:
    assert begin_scope_sql(tenant_id="acme", role="ragline_app") == (
        "BEGIN; SELECT set_config(E'role', E'ragline_app', true), "
        "set_config(E'app.tenant_id', E'acme', true)"
    )
    assert begin_scope_sql(tenant_id="acme", role=None) == (
        "BEGIN; SELECT set_config(E'app.tenant_id', E'acme', true)"
    )
