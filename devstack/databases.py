"""Throwaway PostgreSQL databases, for the tests and the bench: an admin connection outside the
application (pg8000's native API) and the URL of another database on the same server."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit, urlunsplit


def is_postgres(url: str) -> bool:
    """Whether `url` names a PostgreSQL database."""
    return url.startswith(("postgres://", "postgresql"))


def pg_connect(url: str) -> Any:
    """A pg8000 native connection to `url`."""
    import pg8000.native  # type: ignore[import-untyped]

    parts = urlsplit(url)
    return pg8000.native.Connection(
        user=parts.username or "postgres",
        password=parts.password,
        host=parts.hostname or "127.0.0.1",
        port=parts.port or 5432,
        database=(parts.path or "/postgres").lstrip("/") or "postgres",
    )


def with_database(url: str, name: str) -> str:
    """`url` with database `name` on the same server."""
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, "/" + name, parts.query, parts.fragment))
