"""DELETE /api/notes/{note_id}: delete one of my notes."""

from typing import Annotated

from fastapi import Path
from tradebot.db.engine import unit_of_work
from tradebot.http.deps import UserId
from tradebot.http.function import RouteFunction
from tradebot.notes import service

route = RouteFunction("notes_delete")


@route
def delete_note(note_id: Annotated[str, Path(max_length=36)], user_id: UserId) -> None:
    with unit_of_work() as session:
        service.delete_note(session, user_id, note_id)


handler = route.handler
