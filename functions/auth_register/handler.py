"""POST /api/auth/register: create an account."""

from tradebot.auth import service
from tradebot.auth.schemas import Credentials, UserCreated
from tradebot.db.engine import unit_of_work
from tradebot.http.function import RouteFunction

route = RouteFunction("auth_register")


@route
def register(body: Credentials) -> UserCreated:
    with unit_of_work() as session:
        return service.register(session, body)


handler = route.handler
