"""Alembic migrations of the API's schema, run by ``python -m ragline_api migrate``.

They live inside the package so the migration Job runs the same code the API does. Upgrade and
downgrade are both tested against a real PostgreSQL.
"""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config

MIGRATIONS_DIR = Path(__file__).resolve().parent


def alembic_config(database_url: str) -> Config:
    """Return an Alembic config for ``database_url`` (no alembic.ini needed).

    The URL travels in ``attributes`` rather than ``sqlalchemy.url``, where ``%`` in a password
    would be read as interpolation.
    """
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.attributes["database_url"] = database_url
    return config


def upgrade(database_url: str, revision: str = "head") -> None:
    """Upgrade the schema to ``revision``. Blocking: from async code, run it in a thread."""
    command.upgrade(alembic_config(database_url), revision)


def downgrade(database_url: str, revision: str = "base") -> None:
    """Downgrade the schema to ``revision``. Blocking: from async code, run it in a thread."""
    command.downgrade(alembic_config(database_url), revision)
