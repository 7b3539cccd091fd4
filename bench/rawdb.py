"""The floor's own database access: the DB-API driver directly, no SQLAlchemy, no ORM."""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from typing import Any
from urllib.parse import urlsplit

from devstack.databases import is_postgres
from devstack.recording import Statement


class RawDb:
    """One driver connection, of the driver the application's engine uses (pg8000, sqlite3)."""

    def __init__(self, url: str) -> None:
        self.postgres = is_postgres(url)
        if self.postgres:
            import pg8000.dbapi  # type: ignore[import-untyped]

            parts = urlsplit(url)
            self.connection: Any = pg8000.dbapi.connect(
                user=parts.username or "postgres",
                password=parts.password,
                host=parts.hostname or "127.0.0.1",
                port=parts.port or 5432,
                database=(parts.path or "/postgres").lstrip("/"),
            )
        else:
            path = url.split("sqlite:///", 1)[1]
            self.connection = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
            self.connection.execute("PRAGMA foreign_keys=ON")
            self.connection.execute("PRAGMA busy_timeout=5000")

    def replay(self, transactions: Sequence[Sequence[Statement]]) -> None:
        """Each transaction's statements as recorded (SQL in the driver's paramstyle, the
        driver's parameters), every row fetched, then ROLLBACK: nothing is kept."""
        cursor = self.connection.cursor()
        for statements in transactions:
            if not self.postgres:
                cursor.execute("BEGIN")  # pg8000 opens a transaction with the first statement
            for statement in statements:
                if statement.many:
                    cursor.executemany(statement.sql, statement.parameters)
                else:
                    cursor.execute(statement.sql, statement.parameters)
                if cursor.description:
                    cursor.fetchall()
            if self.postgres:
                self.connection.rollback()
            else:
                cursor.execute("ROLLBACK")

    def close(self) -> None:
        self.connection.close()
