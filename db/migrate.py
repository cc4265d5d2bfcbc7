"""Bringing a database to the newest schema with the Alembic migrations, from Python."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config

ALEMBIC_INI = Path(__file__).resolve().parent.parent / "alembic.ini"


def upgrade(database_url: str) -> None:
    """Run every migration up to head. Alembic's env runs its own event loop: from async code,
    call this in a thread of its own (`asyncio.to_thread`)."""
    config = Config(str(ALEMBIC_INI))
    config.attributes["database_url"] = database_url
    config.attributes["configure_logging"] = False  # the caller's logging stays as it is
    command.upgrade(config, "head")
