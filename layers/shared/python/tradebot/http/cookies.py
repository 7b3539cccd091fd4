"""The refresh cookie, and the same-site check of the route that reads it.

`__Host-refresh`: HttpOnly (no script reads it), Secure, SameSite=Strict (no other site's page
sends it) and, by its `__Host-` prefix, set only over HTTPS for this exact host on Path=/.
"""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import urlsplit

from fastapi import Cookie, Depends, Request, Response

from tradebot.auth.schemas import AccessToken
from tradebot.auth.sessions import SignedIn
from tradebot.errors import CrossSiteRefused
from tradebot.settings import get_settings

REFRESH_COOKIE = "__Host-refresh"
_ATTRIBUTES = "Path=/; Secure; HttpOnly; SameSite=Strict"
# Sec-Fetch-Site values of requests a browser did not make on another site's behalf.
_OWN_FETCH_SITES = frozenset({"same-origin", "none"})


def refresh_cookie(token: str, max_age_s: int) -> str:
    """The Set-Cookie value carrying a refresh token."""
    return f"{REFRESH_COOKIE}={token}; Max-Age={max_age_s}; {_ATTRIBUTES}"


def cleared_refresh_cookie() -> str:
    """The Set-Cookie value that removes the refresh cookie."""
    return f"{REFRESH_COOKIE}=; Max-Age=0; {_ATTRIBUTES}"


def signed_in_response(response: Response, signed_in: SignedIn) -> AccessToken:
    """Set the rotated refresh cookie (if there is a new token) and answer the access token."""
    if signed_in.refresh_token is not None:
        response.headers.append(
            "set-cookie", refresh_cookie(signed_in.refresh_token, signed_in.refresh_max_age_s)
        )
    return signed_in.access


def clear_refresh_cookie(response: Response) -> None:
    """Remove the refresh cookie with this response."""
    response.headers.append("set-cookie", cleared_refresh_cookie())


def same_site_only(request: Request) -> None:
    """403 unless the request comes from this API's own origin or a configured frontend.

    SameSite=Strict already keeps other sites' pages from sending the cookie; this is the
    second line (OWASP CSRF cheat sheet: verify the origin with standard headers). A browser's
    `Sec-Fetch-Site: same-origin` (a header no page can set) is taken at its word: behind
    CloudFront the page and the API share the distribution's origin, while the API sees API
    Gateway's host, and the distribution's name cannot be configured before it exists. Else
    `Origin` decides when present, then any other `Sec-Fetch-Site`; a client that sends
    neither is not a browser acting for another site.
    """
    fetch_site = request.headers.get("sec-fetch-site")
    if fetch_site is not None and fetch_site.lower() == "same-origin":
        return
    origin = request.headers.get("origin")
    if origin is not None:
        if origin in get_settings().cors_origins or _is_own_origin(origin, request):
            return
        raise CrossSiteRefused("Requests from other sites may not use the refresh cookie")
    if fetch_site is not None and fetch_site.lower() not in _OWN_FETCH_SITES:
        raise CrossSiteRefused("Requests from other sites may not use the refresh cookie")


def _is_own_origin(origin: str, request: Request) -> bool:
    host = request.headers.get("host")
    if not host:
        return False
    try:
        parts = urlsplit(origin)
    except ValueError:
        return False
    return parts.scheme == request.url.scheme and parts.netloc.lower() == host.lower()


def documented_cookie(description: str) -> dict[int | str, dict[str, Any]]:
    """The OpenAPI entry of a 200 that may set the refresh cookie (with `description`)."""
    header = {
        "description": f"{REFRESH_COOKIE}=<refresh token>; Max-Age=<seconds left in the "
        f"session>; {_ATTRIBUTES}",
        "schema": {"type": "string"},
    }
    return {200: {"description": description, "headers": {"Set-Cookie": header}}}


SameSiteOnly = Annotated[None, Depends(same_site_only)]
RefreshCookie = Annotated[
    str | None,
    Cookie(alias=REFRESH_COOKIE, description="The refresh token set by login or refresh"),
]
