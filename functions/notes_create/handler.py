"""POST /api/notes: write a journal note."""

from tradebot.db.engine import unit_of_work
from tradebot.http.deps import UserId
from tradebot.http.function import RouteFunction
from tradebot.notes import service
from tradebot.notes.schemas import NoteCreate, NotePublic

route = RouteFunction("notes_create")


@route
def create_note(body: NoteCreate, user_id: UserId) -> NotePublic:
    with unit_of_work() as session:
        return service.create_note(session, user_id, body)


handler = route.handler
