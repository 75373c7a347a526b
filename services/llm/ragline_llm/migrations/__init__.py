"""Alembic migrations of the LLM service's tables, with their own version table.

``alembic_version_llm`` keeps this history apart from the API's (``alembic_version``), so both
services can share one database. The runner holds a PostgreSQL advisory lock, so several replicas
starting at once (``migrate_on_start``) or the ingestion Job migrate one after the other.
"""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config

MIGRATIONS_DIR = Path(__file__).resolve().parent
VERSION_TABLE = "alembic_version_llm"
# Any constant works as long as no other code locks it: "ragline-llm-migrations" as an int.
ADVISORY_LOCK_KEY = 0x52414C4D


def alembic_config(database_url: str) -> Config:
    """Return an Alembic config for ``database_url`` (no alembic.ini needed)."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.attributes["database_url"] = database_url
    return config


def upgrade(database_url: str, revision: str = "head") -> None:
    """Upgrade to ``revision``. Blocking: from async code, run it in a thread."""
    command.upgrade(alembic_config(database_url), revision)


def downgrade(database_url: str, revision: str = "base") -> None:
    """Downgrade to ``revision``. Blocking: from async code, run it in a thread."""
    command.downgrade(alembic_config(database_url), revision)
