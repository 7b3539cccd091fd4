"""Cursor pagination: opaque cursors over a keyset, `{"items", "next_cursor"}` pages."""

from __future__ import annotations

import base64
import binascii
import json
from datetime import datetime
from typing import Any, Protocol

from pydantic import BaseModel
from sqlalchemy import ColumnElement, tuple_
from sqlalchemy.orm import InstrumentedAttribute

from tradebot.errors import InvalidInput

DEFAULT_LIMIT = 50
MAX_LIMIT = 200


class Page[T](BaseModel):
    """One page of a list; `next_cursor` is null on the last page."""

    items: list[T]
    next_cursor: str | None


def encode_cursor(position: list[Any]) -> str:
    """An opaque cursor for the keyset position of the last item on a page."""
    raw = json.dumps(position, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str, length: int) -> list[Any]:
    """The keyset position in `cursor`; 422 naming `cursor` if it was not made by us."""
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        position = json.loads(base64.urlsafe_b64decode(padded.encode()))
    except (binascii.Error, ValueError, UnicodeDecodeError) as exc:
        raise InvalidInput.on("cursor", "is not a valid cursor") from exc
    if not isinstance(position, list) or len(position) != length:
        raise InvalidInput.on("cursor", "is not a valid cursor")
    # A forged cursor could smuggle a NUL into the keyset query, which PostgreSQL refuses.
    if any(isinstance(part, str) and "\x00" in part for part in position):
        raise InvalidInput.on("cursor", "is not a valid cursor")
    return position


def newest_first_after(
    cursor: str, created_at: InstrumentedAttribute[datetime], id_: InstrumentedAttribute[str]
) -> ColumnElement[bool]:
    """The condition "older than the cursor's (created_at, id)", for newest-first keyset pages.

    A row-value comparison is an index condition; the equivalent OR is not (it scanned and
    threw away every newer row on deep pages).
    """
    created_raw, last_id = decode_cursor(cursor, 2)
    try:
        created = datetime.fromisoformat(str(created_raw))
    except ValueError as exc:
        raise InvalidInput.on("cursor", "is not a valid cursor") from exc
    # Our cursors hold an aware time; a naive one would fail deep in the query as a 500.
    if created.tzinfo is None:
        raise InvalidInput.on("cursor", "is not a valid cursor")
    return tuple_(created_at, id_) < tuple_(created, str(last_id))


class Dated(Protocol):
    """A row a newest-first page is keyed on."""

    @property
    def created_at(self) -> datetime: ...
    @property
    def id(self) -> str: ...


def newest_first_page[R: Dated](rows: list[R], limit: int) -> tuple[list[R], str | None]:
    """The page of `rows` (fetched with `limit + 1`) and the cursor of the next one, if any."""
    if len(rows) <= limit:
        return rows, None
    rows = rows[:limit]
    return rows, encode_cursor([rows[-1].created_at.isoformat(), rows[-1].id])
