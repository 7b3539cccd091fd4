"""DELETE /api/account/sessions/{session_id}: end one of my sessions."""

from typing import Annotated

from fastapi import Path
from tradebot.auth import sessions
from tradebot.db.engine import unit_of_work
from tradebot.http.deps import UserId
from tradebot.http.function import RouteFunction

route = RouteFunction("sessions_delete")


@route
def revoke_session(session_id: Annotated[str, Path(max_length=36)], user_id: UserId) -> None:
    with unit_of_work() as session:
        sessions.revoke_session(session, user_id, session_id)


handler = route.handler
