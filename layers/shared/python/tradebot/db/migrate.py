"""Apply the database migrations (run by the `migrate` function on every deploy)."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config

MIGRATIONS = Path(__file__).with_name("migrations")


def alembic_config() -> Config:
    """An Alembic config that needs no alembic.ini: the scripts ship inside the layer."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    return config


def upgrade(revision: str = "head") -> None:
    """Bring the database to `revision` (the newest by default)."""
    command.upgrade(alembic_config(), revision)


def current_revision() -> str | None:
    """The revision the database is at, or None for an empty database."""
    from alembic.runtime.migration import MigrationContext

    from tradebot.db.engine import get_engine

    with get_engine().connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


if __name__ == "__main__":
    upgrade()
    print(f"database at revision {current_revision()}")
