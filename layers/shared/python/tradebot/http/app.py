"""The one app factory: every Lambda and the local server build their FastAPI app here."""

from __future__ import annotations

from collections.abc import Iterable

from fastapi import APIRouter, FastAPI
from starlette.middleware.cors import CORSMiddleware

from tradebot.http.middleware import BodyLimit, RequestContext, SecurityHeaders
from tradebot.http.problems import install_problem_handlers
from tradebot.settings import get_settings

API_TITLE = "Tradebot API"
API_VERSION = "1.0.0"


def create_app(routers: Iterable[APIRouter], *, docs: bool = False) -> FastAPI:
    """An app with the given routes, problem+json errors, CORS, security headers and ids."""
    settings = get_settings()
    app = FastAPI(
        title=API_TITLE,
        version=API_VERSION,
        description="Serverless crypto trading bot backend. Money is decimal strings.",
        docs_url="/docs" if docs else None,
        redoc_url=None,
        openapi_url="/openapi.json" if docs else None,
    )
    for router in routers:
        app.include_router(router)
    install_problem_handlers(app)
    # Added innermost first: SecurityHeaders ends up outermost, so even CORS preflights and
    # 413s carry the headers.
    app.add_middleware(BodyLimit, max_bytes=settings.max_body_bytes)
    app.add_middleware(RequestContext)
    app.add_middleware(
        CORSMiddleware,
        allow_origins=settings.cors_origins,
        allow_methods=["GET", "POST", "PUT", "PATCH", "DELETE"],
        allow_headers=["Authorization", "Content-Type", "Idempotency-Key", "X-Request-Id"],
        expose_headers=["X-Request-Id", "Retry-After"],
        max_age=600,
    )
    app.add_middleware(SecurityHeaders)
    return app
