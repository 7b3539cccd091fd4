"""POST /api/auth/logout: end this session and clear the refresh cookie."""

from fastapi import Response
from tradebot.auth import sessions
from tradebot.db.engine import unit_of_work
from tradebot.http.cookies import clear_refresh_cookie
from tradebot.http.deps import Caller
from tradebot.http.function import RouteFunction

route = RouteFunction("auth_logout")


@route
def logout(response: Response, caller: Caller) -> None:
    if caller.session_id is not None:  # always set: the token check refuses tokens without one
        with unit_of_work() as session:
            sessions.end_session(session, caller.user_id, caller.session_id)
    clear_refresh_cookie(response)


handler = route.handler
