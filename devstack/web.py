"""The web app beside the API on one origin, as CloudFront serves them in AWS.

Every path that is not the API's (`/api/...`, `/health`, `/docs`, `/openapi.json`) is the
single-page app: a file of `web/dist` when one has that name, else `index.html` (the app's
router draws the page). The API's responses keep their own headers (`default-src 'none'`);
the app's carry the app's CSP, and only the hashed assets are cached for long.
"""

from __future__ import annotations

import re
from pathlib import Path

from starlette.middleware.gzip import GZipMiddleware
from starlette.responses import FileResponse, PlainTextResponse, Response
from starlette.types import ASGIApp, Receive, Scope, Send
from tradebot.http.middleware import WEB_APP_CSP as APP_CSP

from devstack.functions import ROOT

WEB_DIST = ROOT / "web" / "dist"
API_PATHS = ("/api", "/health", "/docs", "/openapi.json")
API_PREFIXES = ("/api/", "/docs/")

APP_HEADERS = {
    "content-security-policy": APP_CSP,
    "strict-transport-security": "max-age=63072000; includeSubDomains",
    "x-content-type-options": "nosniff",
    "x-frame-options": "DENY",
    "referrer-policy": "no-referrer",
    "cross-origin-opener-policy": "same-origin",
    "cross-origin-resource-policy": "same-origin",
    "permissions-policy": "accelerometer=(), camera=(), geolocation=(), microphone=()",
}
IMMUTABLE = "public, max-age=31536000, immutable"  # hashed names: a new build, a new name
REVALIDATE = "no-cache"  # index.html and sw.js: always the newest build


def initial_assets(dist: Path = WEB_DIST) -> list[Path]:
    """The scripts, preloads and stylesheets index.html loads before the first page draws."""
    html = (dist / "index.html").read_text()
    refs = re.findall(r'(?:src|href)="(/assets/[^"]+\.(?:js|css))"', html)
    return [dist / ref.lstrip("/") for ref in refs]


def is_api_path(path: str) -> bool:
    """Whether the API answers `path` (its 404s stay problem+json, never the app)."""
    return path in API_PATHS or path.startswith(API_PREFIXES)


class WebApp:
    """ASGI: the API for its paths, the built single-page app for every other."""

    def __init__(self, api: ASGIApp, dist: Path = WEB_DIST) -> None:
        self.api = api
        self.dist = dist.resolve()
        # Compressed as CloudFront compresses them (its cache policy enables gzip and Brotli);
        # the API's answers are left as API Gateway sends them.
        self._compressed = GZipMiddleware(self._app, minimum_size=1024)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or is_api_path(scope["path"]):
            await self.api(scope, receive, send)
            return
        await self._compressed(scope, receive, send)

    async def _app(self, scope: Scope, receive: Receive, send: Send) -> None:
        response = self.respond(scope["method"], scope["path"])
        await response(scope, receive, send)

    def respond(self, method: str, path: str) -> Response:
        """The app's answer to `method path`."""
        if method not in ("GET", "HEAD"):
            return self._plain("Method not allowed", 405, allow="GET, HEAD")
        index = self.dist / "index.html"
        if not index.is_file():
            return self._plain(
                "The web app is not built: run `make dev` (or `make web-build`).", 503
            )
        wanted = (self.dist / path.lstrip("/")).resolve()
        if wanted.is_file() and wanted.is_relative_to(self.dist):
            immutable = wanted.is_relative_to(self.dist / "assets")
            return self._file(wanted, IMMUTABLE if immutable else REVALIDATE)
        # A missing asset or file is a 404 (a script must not get HTML); a page is the app.
        if path.startswith("/assets/") or "." in path.rsplit("/", 1)[-1]:
            return self._plain("Not found", 404)
        return self._file(index, REVALIDATE)

    @staticmethod
    def _file(path: Path, cache: str) -> Response:
        return FileResponse(path, headers={**APP_HEADERS, "cache-control": cache})

    @staticmethod
    def _plain(text: str, status: int, **extra: str) -> Response:
        headers = {**APP_HEADERS, "cache-control": "no-store", **extra}
        return PlainTextResponse(text, status_code=status, headers=headers)


def with_web_app(api: ASGIApp, dist: Path = WEB_DIST) -> ASGIApp:
    """`api` with the single-page app served beside it."""
    return WebApp(api, dist)
