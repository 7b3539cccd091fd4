"""Alembic environment: runs against the engine the application itself uses."""

from __future__ import annotations

from alembic import context
from tradebot.db.engine import get_engine
from tradebot.db.models import Base

connectable = context.config.attributes.get("connection")


def run_migrations_online() -> None:
    """Apply migrations on the configured connection, or on the application's engine."""
    if connectable is not None:
        context.configure(connection=connectable, target_metadata=Base.metadata)
        with context.begin_transaction():
            context.run_migrations()
        return
    with get_engine().connect() as connection:
        context.configure(
            connection=connection,
            target_metadata=Base.metadata,
            render_as_batch=connection.dialect.name == "sqlite",
        )
        with context.begin_transaction():
            context.run_migrations()


run_migrations_online()
