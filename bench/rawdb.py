"""The floor's own database access: the DB-API driver directly, no SQLAlchemy, no ORM."""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Sequence
from datetime import datetime
from decimal import Decimal
from typing import Any
from urllib.parse import urlsplit

from devstack.databases import is_postgres

Statement = tuple[str, Sequence[Any]]
_FOR_UPDATE = re.compile(r"\s+FOR UPDATE\b", re.IGNORECASE)


class RawDb:
    """One connection; statements written for PostgreSQL (%s), adapted for SQLite (?)."""

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

    def _sql(self, sql: str) -> str:
        if self.postgres:
            return sql
        return _FOR_UPDATE.sub("", sql).replace("%s", "?")

    def value(self, value: Any) -> Any:
        """A parameter as the application's column types store it on this backend."""
        if self.postgres:
            return value
        if isinstance(value, Decimal):
            return format(value, "f")
        if isinstance(value, datetime):
            return value.replace(tzinfo=None).isoformat(sep=" ")
        return value

    def read(self, sql: str, params: Sequence[Any] = ()) -> list[Any]:
        """One query in its own transaction (as a unit of work runs it), all rows fetched."""
        cursor = self.connection.cursor()
        cursor.execute(self._sql(sql), [self.value(p) for p in params])
        rows = list(cursor.fetchall())
        if self.postgres:
            self.connection.commit()
        return rows

    def write(self, statements: Sequence[Statement]) -> list[list[Any]]:
        """Statements in one committed transaction; the rows each returned."""
        cursor = self.connection.cursor()
        if not self.postgres:
            cursor.execute("BEGIN IMMEDIATE")
        results = []
        for sql, params in statements:
            cursor.execute(self._sql(sql), [self.value(p) for p in params])
            results.append(list(cursor.fetchall()) if cursor.description else [])
        if self.postgres:
            self.connection.commit()
        else:
            cursor.execute("COMMIT")
        return results

    def close(self) -> None:
        self.connection.close()
