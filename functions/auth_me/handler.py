"""GET /api/auth/me: the current user and their trading mode."""

from tradebot.auth import service
from tradebot.auth.schemas import UserPublic
from tradebot.db.engine import unit_of_work
from tradebot.http.deps import UserId
from tradebot.http.function import RouteFunction

route = RouteFunction("auth_me")


@route
def me(user_id: UserId) -> UserPublic:
    with unit_of_work() as session:
        return service.current_user(session, user_id)


handler = route.handler
