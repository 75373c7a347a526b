"""Roles a token can carry, and what each may do."""

from __future__ import annotations

from enum import StrEnum


class Role(StrEnum):
    """A customer orders and sees their own orders; staff run the menu and every order."""

    CUSTOMER = "customer"
    STAFF = "staff"
    ADMIN = "admin"


STAFF_ROLES = frozenset({Role.STAFF, Role.ADMIN})
