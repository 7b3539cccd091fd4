"""GET /api/notes: my journal, pinned first then newest, cursor-paginated."""

from typing import Annotated

from fastapi import Query
from tradebot.db.engine import unit_of_work
from tradebot.http.deps import UserId
from tradebot.http.function import RouteFunction
from tradebot.notes import service
from tradebot.notes.schemas import NotePublic
from tradebot.pagination import DEFAULT_LIMIT, MAX_LIMIT, Page

route = RouteFunction("notes_list")


@route
def list_notes(
    user_id: UserId,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = DEFAULT_LIMIT,
    cursor: Annotated[str | None, Query(max_length=512)] = None,
    tag: Annotated[str | None, Query(min_length=1, max_length=32)] = None,
    pinned: bool | None = None,
) -> Page[NotePublic]:
    with unit_of_work() as session:
        return service.list_notes(
            session, user_id, limit=limit, cursor=cursor, tag=tag, pinned=pinned
        )


handler = route.handler
