"""API models of journal notes."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, field_validator

Tag = Annotated[
    str,
    StringConstraints(
        strip_whitespace=True, to_lower=True, min_length=1, max_length=32,
        pattern=r"^[A-Za-z0-9][A-Za-z0-9_-]*$",
    ),
]  # fmt: skip
Title = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
Content = Annotated[str, StringConstraints(max_length=20_000)]
MAX_TAGS = 10


def _unique_tags(tags: list[str] | None) -> list[str] | None:
    if tags is None:
        return None
    return sorted(set(tags))


class NoteCreate(BaseModel):
    """A new note; `trade_id` may link one of the author's own trades."""

    model_config = ConfigDict(extra="forbid")

    title: Title
    content: Content = ""
    tags: list[Tag] = Field(default_factory=list, max_length=MAX_TAGS)
    is_pinned: bool = False
    trade_id: str | None = Field(default=None, max_length=36)

    _dedupe = field_validator("tags")(_unique_tags)


class NoteUpdate(BaseModel):
    """A partial change: only the fields present are changed; `trade_id: null` unlinks."""

    model_config = ConfigDict(extra="forbid")

    title: Title | None = None
    content: Content | None = None
    tags: list[Tag] | None = Field(default=None, max_length=MAX_TAGS)
    is_pinned: bool | None = None
    trade_id: str | None = Field(default=None, max_length=36)

    _dedupe = field_validator("tags")(_unique_tags)


class NotePublic(BaseModel):
    id: str
    title: str
    content: str
    tags: list[str]
    is_pinned: bool
    trade_id: str | None
    created_at: datetime
    updated_at: datetime
