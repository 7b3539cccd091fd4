"""Request dependencies: the authenticated user and per-route rate limiting."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from tradebot.auth.tokens import verify_access_token
from tradebot.cache.ratelimit import check_rate
from tradebot.errors import NotAuthenticated
from tradebot.http.routes import Route
from tradebot.settings import get_settings

_bearer = HTTPBearer(auto_error=False, description="Access token from POST /api/auth/login")


def authenticated_user_id(
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> str:
    """The user id from a valid bearer token; 401 otherwise."""
    if credentials is None or credentials.scheme.lower() != "bearer":
        raise NotAuthenticated("A bearer access token is required")
    return verify_access_token(credentials.credentials)


UserId = Annotated[str, Depends(authenticated_user_id)]


def rate_limiter(route: Route) -> Callable[..., None]:
    """A dependency that counts the caller against the route's throttle class."""
    settings = get_settings()
    limit = settings.rate_limits.get(route.throttle, settings.rate_limits.get("read", 300))

    if route.auth:

        def per_user(user_id: UserId) -> None:
            check_rate(route.throttle, f"user:{user_id}", limit, settings.rate_window_s)

        return per_user

    def per_address(request: Request) -> None:
        address = request.client.host if request.client else "unknown"
        check_rate(route.throttle, f"ip:{address}", limit, settings.rate_window_s)

    return per_address
