"""Alembic migrations of the relay's own tables (dead letters, retry schedule).

They live in the outbox's database but in their own tree, with their own version table
(``alembic_version_relay``), so the API's migrations and these never share a history. The relay
runs them at start-up (``RAGLINE_RELAY_MIGRATE``, on by default) or ``python -m ragline_relay
migrate`` does; concurrent runs are serialised by an advisory lock.
"""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config

MIGRATIONS_DIR = Path(__file__).resolve().parent
VERSION_TABLE = "alembic_version_relay"


def alembic_config(database_url: str) -> Config:
    """Return an Alembic config for ``database_url`` (the URL in ``attributes``, where a ``%`` in a
    password is not taken for interpolation)."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.attributes["database_url"] = database_url
    return config


def upgrade(database_url: str, revision: str = "head") -> None:
    """Upgrade to ``revision``. Blocking (runs its own event loop): from async code, in a thread."""
    command.upgrade(alembic_config(database_url), revision)


def downgrade(database_url: str, revision: str = "base") -> None:
    """Downgrade to ``revision``. Blocking, like :func:`upgrade`."""
    command.downgrade(alembic_config(database_url), revision)
