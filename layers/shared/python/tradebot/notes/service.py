"""Journal notes: create, list (pinned first, then newest), read, change, delete."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Select, and_, or_, select, tuple_
from sqlalchemy.orm import Session

from tradebot.cache.readthrough import cached_read, invalidate_on_commit
from tradebot.db.models import Note, NoteTag, Trade, utcnow
from tradebot.errors import InvalidInput, NotFound
from tradebot.notes.schemas import NoteCreate, NotePublic, NoteUpdate
from tradebot.pagination import Page, decode_cursor, encode_cursor

CACHE_NAMESPACE = "notes"


def _public(note: Note) -> NotePublic:
    return NotePublic(
        id=note.id,
        title=note.title,
        content=note.content,
        tags=[t.tag for t in note.tags],
        is_pinned=note.is_pinned,
        trade_id=note.trade_id,
        created_at=note.created_at,
        updated_at=note.updated_at,
    )


def _check_trade_is_own(session: Session, user_id: str, trade_id: str) -> None:
    owned = session.scalar(select(Trade.id).where(Trade.id == trade_id, Trade.user_id == user_id))
    if owned is None:
        # Another user's trade looks exactly like a missing one.
        raise InvalidInput.on("trade_id", "no such trade")


def _own_note(session: Session, user_id: str, note_id: str) -> Note:
    note = session.scalar(select(Note).where(Note.id == note_id, Note.user_id == user_id))
    if note is None:
        raise NotFound("No such note")
    return note


def create_note(session: Session, user_id: str, body: NoteCreate) -> NotePublic:
    """Write a note."""
    if body.trade_id is not None:
        _check_trade_is_own(session, user_id, body.trade_id)
    note = Note(
        user_id=user_id,
        title=body.title,
        content=body.content,
        is_pinned=body.is_pinned,
        trade_id=body.trade_id,
        tags=[NoteTag(tag=t) for t in body.tags],
    )
    session.add(note)
    session.flush()
    invalidate_on_commit(session, CACHE_NAMESPACE, user_id)
    return _public(note)


def get_note(session: Session, user_id: str, note_id: str) -> NotePublic:
    """One of the user's notes; 404 for a missing one and for another user's."""
    return _public(_own_note(session, user_id, note_id))


def update_note(session: Session, user_id: str, note_id: str, body: NoteUpdate) -> NotePublic:
    """Change the fields present in `body`."""
    note = _own_note(session, user_id, note_id)
    changes = body.model_dump(exclude_unset=True)
    for name in ("title", "content", "is_pinned"):
        if name in changes:
            if changes[name] is None:
                raise InvalidInput.on(name, "must not be null")
            setattr(note, name, changes[name])
    if "tags" in changes:
        if body.tags is None:
            raise InvalidInput.on("tags", "must not be null")
        note.tags = [NoteTag(tag=t) for t in body.tags]
    if "trade_id" in changes:
        if body.trade_id is not None:
            _check_trade_is_own(session, user_id, body.trade_id)
        note.trade_id = body.trade_id
    if changes:
        # A change of tags alone leaves the notes row clean, so `onupdate` would not fire.
        note.updated_at = utcnow()
    session.flush()
    session.refresh(note)
    invalidate_on_commit(session, CACHE_NAMESPACE, user_id)
    return _public(note)


def delete_note(session: Session, user_id: str, note_id: str) -> None:
    """Delete one of the user's notes; 404 if it is not theirs."""
    session.delete(_own_note(session, user_id, note_id))
    session.flush()
    invalidate_on_commit(session, CACHE_NAMESPACE, user_id)


# A page is read as plain rows, not Note objects: nothing in it is changed, and skipping the
# identity map and attribute instrumentation halves the cost of a cache miss.
_LIST_COLUMNS = (
    Note.id,
    Note.title,
    Note.content,
    Note.is_pinned,
    Note.trade_id,
    Note.created_at,
    Note.updated_at,
)


def _tags_of(session: Session, note_ids: list[str]) -> dict[str, list[str]]:
    """Each note's tags, alphabetical (as `Note.tags` orders them)."""
    tags: dict[str, list[str]] = {}
    if note_ids:
        query = (
            select(NoteTag.note_id, NoteTag.tag)
            .where(NoteTag.note_id.in_(note_ids))
            .order_by(NoteTag.note_id, NoteTag.tag)
        )
        for note_id, tag in session.execute(query):
            tags.setdefault(note_id, []).append(tag)
    return tags


def _list_query(
    user_id: str, tag: str | None, pinned: bool | None, cursor: str | None
) -> Select[str, str, str, bool, str | None, datetime, datetime]:
    query = select(*_LIST_COLUMNS).where(Note.user_id == user_id)
    if tag is not None:
        query = query.where(
            Note.id.in_(select(NoteTag.note_id).where(NoteTag.tag == tag.strip().lower()))
        )
    if pinned is not None:
        query = query.where(Note.is_pinned == pinned)
    if cursor is not None:
        was_pinned, created_raw, last_id = decode_cursor(cursor, 3)
        try:
            created = datetime.fromisoformat(created_raw)
        except (TypeError, ValueError) as exc:
            raise InvalidInput.on("cursor", "is not a valid cursor") from exc
        # Our cursors hold an aware time; a naive one would fail deep in the query as a 500.
        if created.tzinfo is None:
            raise InvalidInput.on("cursor", "is not a valid cursor")
        # Keyset on (is_pinned desc, created_at desc, id desc).
        after_same_pin = and_(
            Note.is_pinned == bool(was_pinned),
            tuple_(Note.created_at, Note.id) < tuple_(created, str(last_id)),
        )
        query = query.where(
            after_same_pin if not was_pinned else or_(after_same_pin, ~Note.is_pinned)
        )
    return query.order_by(Note.is_pinned.desc(), Note.created_at.desc(), Note.id.desc())


def list_notes(
    session: Session,
    user_id: str,
    *,
    limit: int,
    cursor: str | None = None,
    tag: str | None = None,
    pinned: bool | None = None,
) -> Page[NotePublic]:
    """The user's notes, pinned first then newest, one page at a time (read-through cached)."""

    def load() -> dict[str, object]:
        rows = session.execute(_list_query(user_id, tag, pinned, cursor).limit(limit + 1)).all()
        next_cursor = None
        if len(rows) > limit:
            rows = rows[:limit]
            last = rows[-1]
            next_cursor = encode_cursor([last.is_pinned, last.created_at.isoformat(), last.id])
        tags = _tags_of(session, [row.id for row in rows])
        items = [
            NotePublic(
                id=row.id,
                title=row.title,
                content=row.content,
                tags=tags.get(row.id, []),
                is_pinned=row.is_pinned,
                trade_id=row.trade_id,
                created_at=row.created_at,
                updated_at=row.updated_at,
            )
            for row in rows
        ]
        page = Page[NotePublic](items=items, next_cursor=next_cursor)
        return page.model_dump(mode="json")

    params = f"{limit}|{cursor}|{tag}|{pinned}"
    return Page[NotePublic].model_validate(cached_read(CACHE_NAMESPACE, user_id, params, load))
