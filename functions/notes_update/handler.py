"""PATCH /api/notes/{note_id}: change some fields of one of my notes."""

from typing import Annotated

from fastapi import Path
from tradebot.db.engine import unit_of_work
from tradebot.http.deps import UserId
from tradebot.http.function import RouteFunction
from tradebot.notes import service
from tradebot.notes.schemas import NotePublic, NoteUpdate

route = RouteFunction("notes_update")


@route
def update_note(
    note_id: Annotated[str, Path(max_length=36)], body: NoteUpdate, user_id: UserId
) -> NotePublic:
    with unit_of_work() as session:
        return service.update_note(session, user_id, note_id, body)


handler = route.handler
