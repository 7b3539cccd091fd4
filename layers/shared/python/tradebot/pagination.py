"""Cursor pagination: opaque cursors over a keyset, `{"items", "next_cursor"}` pages."""

from __future__ import annotations

import base64
import binascii
import json
from typing import Any

from pydantic import BaseModel

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
