"""GET /api/account/sessions: my active sessions, newest first, cursor-paginated."""

from typing import Annotated

from fastapi import Query
from tradebot.auth import sessions
from tradebot.auth.schemas import SessionPublic
from tradebot.db.engine import unit_of_work
from tradebot.http.deps import Caller
from tradebot.http.function import RouteFunction
from tradebot.pagination import DEFAULT_LIMIT, MAX_LIMIT, Page

route = RouteFunction("sessions_list")


@route
def list_sessions(
    caller: Caller,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = DEFAULT_LIMIT,
    cursor: Annotated[str | None, Query(max_length=512)] = None,
) -> Page[SessionPublic]:
    with unit_of_work() as session:
        return sessions.list_sessions(
            session, caller.user_id, caller.session_id, limit=limit, cursor=cursor
        )


handler = route.handler
