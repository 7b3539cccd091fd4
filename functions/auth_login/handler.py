"""POST /api/auth/login: exchange email and password for an access token."""

from tradebot.auth import service
from tradebot.auth.schemas import AccessToken, LoginRequest
from tradebot.db.engine import unit_of_work
from tradebot.http.deps import SourceAddress
from tradebot.http.function import RouteFunction

route = RouteFunction("auth_login")


@route
def login(body: LoginRequest, address: SourceAddress) -> AccessToken:
    with unit_of_work() as session:
        return service.login(session, body, address)


handler = route.handler
