"""Apply the database migrations (run by the `migrate` function on every deploy)."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy.exc import InterfaceError, OperationalError

logger = logging.getLogger(__name__)

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


def _known(revision: str) -> bool:
    from alembic.script import ScriptDirectory
    from alembic.util import CommandError

    try:
        return ScriptDirectory.from_config(alembic_config()).get_revision(revision) is not None
    except CommandError:
        return False


def upgrade_for_deploy(
    attempts: int = 12, wait_s: float = 10.0, sleep: Callable[[float], None] = time.sleep
) -> str | None:
    """Migrate during a deploy; returns the revision the database is at afterwards.

    A new database (or proxy) may not accept connections yet on a first deploy, so connection
    failures are retried for about two minutes. A database already at a revision this code does
    not know is a rollback to older code: it is left as it is instead of failing the rollback.
    """
    from tradebot.errors import ServiceUnavailable

    for attempt in range(1, attempts + 1):
        try:
            current = current_revision()
            if current is not None and not _known(current):
                logger.warning(
                    "database is ahead of this code; not migrating", extra={"revision": current}
                )
                return current
            upgrade()
            return current_revision()
        except (OperationalError, InterfaceError, ServiceUnavailable):
            if attempt == attempts:
                raise
            logger.warning("database not reachable yet; retrying", extra={"attempt": attempt})
            sleep(wait_s)
    return None


if __name__ == "__main__":
    upgrade()
    print(f"database at revision {current_revision()}")
