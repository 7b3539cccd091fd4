"""POST /api/auth/login: exchange email and password for an access token and a session, whose
refresh token is set as the `__Host-refresh` cookie."""

from fastapi import Response
from tradebot.auth import service
from tradebot.auth.schemas import AccessToken, LoginRequest
from tradebot.db.engine import unit_of_work
from tradebot.http.cookies import documented_cookie, signed_in_response
from tradebot.http.deps import SourceAddress
from tradebot.http.function import RouteFunction

route = RouteFunction(
    "auth_login", responses=documented_cookie("An access token; the session's refresh cookie")
)


@route
def login(body: LoginRequest, address: SourceAddress, response: Response) -> AccessToken:
    with unit_of_work() as session:
        signed_in = service.login(session, body, address)
    return signed_in_response(response, signed_in)


handler = route.handler
