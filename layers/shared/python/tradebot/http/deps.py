"""Request dependencies: the authenticated user, the step-up code and per-route rate limiting."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated

from fastapi import Depends, Header, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from tradebot.auth.active import require_active_session
from tradebot.auth.tokens import AccessClaims, read_access_token
from tradebot.cache.ratelimit import check_rate
from tradebot.errors import NotAuthenticated
from tradebot.http.routes import Route
from tradebot.observability import logger
from tradebot.settings import get_settings
from tradebot.twofactor.schemas import OTP_DESCRIPTION, OTP_MAX_LENGTH

_bearer = HTTPBearer(auto_error=False, description="Access token from POST /api/auth/login")


def authenticated_caller(
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> AccessClaims:
    """The user and session of a valid bearer token whose session is still active, added to
    the request's logs; 401 otherwise (a revoked session's tokens at once)."""
    if credentials is None or credentials.scheme.lower() != "bearer":
        raise NotAuthenticated("A bearer access token is required")
    claims = read_access_token(credentials.credentials)
    require_active_session(claims.user_id, claims.session_id)
    # Every later log line of this request names the user (RequestContext removes it after).
    logger.append_keys(user_id=claims.user_id)
    return claims


Caller = Annotated[AccessClaims, Depends(authenticated_caller)]


def authenticated_user_id(caller: Caller) -> str:
    """The user id of the caller's valid token."""
    return caller.user_id


UserId = Annotated[str, Depends(authenticated_user_id)]


def step_up_otp(
    x_otp: Annotated[
        str | None,
        Header(
            alias="X-OTP",
            max_length=OTP_MAX_LENGTH,
            description=f"{OTP_DESCRIPTION}: needed where two-factor authentication is on",
        ),
    ] = None,
) -> str | None:
    """The step-up one-time code of the `X-OTP` header, if the caller sent one."""
    return x_otp


Otp = Annotated[str | None, Depends(step_up_otp)]


def source_address(request: Request) -> str:
    """The caller's address (API Gateway's sourceIp through Mangum)."""
    return request.client.host if request.client else "unknown"


SourceAddress = Annotated[str, Depends(source_address)]


def rate_limiter(route: Route) -> Callable[..., None]:
    """A dependency that counts the caller against the route's throttle class ("exempt": none).

    The limits are read per request from the (cached) settings, not when the handler module is
    imported, so importing a handler never validates settings and a reset takes effect.
    """

    if route.throttle == "exempt":

        def not_counted() -> None:
            """Counts nothing: this route is never refused with a 429 by the app."""

        return not_counted

    def count(caller: str) -> None:
        settings = get_settings()
        limits = settings.rate_limits
        limit = limits.get(route.throttle, limits.get("read", 300))
        check_rate(route.throttle, caller, limit, settings.rate_window_s)

    if route.auth:

        def per_user(user_id: UserId) -> None:
            count(f"user:{user_id}")

        return per_user

    def per_address(address: SourceAddress) -> None:
        count(f"ip:{address}")

    return per_address
