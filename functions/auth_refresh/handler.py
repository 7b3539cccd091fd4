"""POST /api/auth/refresh: a new access token from the refresh cookie, which rotates."""

from fastapi import Response
from tradebot.auth import sessions
from tradebot.auth.schemas import AccessToken
from tradebot.db.engine import unit_of_work
from tradebot.http.cookies import (
    RefreshCookie,
    SameSiteOnly,
    documented_cookie,
    signed_in_response,
)
from tradebot.http.function import RouteFunction
from tradebot.http.problems import PROBLEM_JSON, PROBLEM_REF

route = RouteFunction(
    "auth_refresh",
    responses={
        **documented_cookie(
            "A new access token and the rotated cookie (no cookie for a second tab whose "
            "refresh lost the rotation a moment ago: it keeps the winner's)"
        ),
        401: {
            "description": "The refresh cookie is missing, expired, revoked or reused (a reused "
            "one ends its session); the cookie is cleared",
            "content": {PROBLEM_JSON: {"schema": PROBLEM_REF}},
        },
        403: {
            "description": "A request from another site (Origin or Sec-Fetch-Site)",
            "content": {PROBLEM_JSON: {"schema": PROBLEM_REF}},
        },
    },
)


@route
def refresh(
    response: Response, _same_site: SameSiteOnly, refresh_token: RefreshCookie = None
) -> AccessToken:
    with unit_of_work() as session:
        signed_in = sessions.refresh(session, refresh_token)
    return signed_in_response(response, signed_in)


handler = route.handler
