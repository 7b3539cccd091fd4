"""GET /api/notes/{note_id}: one of my notes."""

from typing import Annotated

from fastapi import Path
from tradebot.db.engine import unit_of_work
from tradebot.http.deps import UserId
from tradebot.http.function import RouteFunction
from tradebot.notes import service
from tradebot.notes.schemas import NotePublic

route = RouteFunction("notes_get")


@route
def get_note(note_id: Annotated[str, Path(max_length=36)], user_id: UserId) -> NotePublic:
    with unit_of_work() as session:
        return service.get_note(session, user_id, note_id)


handler = route.handler
