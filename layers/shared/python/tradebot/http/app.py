"""The one app factory: every Lambda and the local server build their FastAPI app here."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from fastapi import APIRouter, FastAPI

from tradebot.http.middleware import (
    BodyLimit,
    RefuseNul,
    RequestContext,
    SecurityHeaders,
    StrictCors,
    UnexpectedErrors,
)
from tradebot.http.problems import install_problem_handlers, problem_components
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
    _document_problems(app)
    # Added innermost first: SecurityHeaders ends up outermost and RequestContext next, so even
    # CORS preflights, 413s and 500s carry the headers and a request id.
    app.add_middleware(RefuseNul)
    app.add_middleware(BodyLimit, max_bytes=settings.max_body_bytes)
    app.add_middleware(UnexpectedErrors)
    app.add_middleware(
        StrictCors,
        allow_origins=settings.cors_origins,
        allow_methods=["GET", "POST", "PUT", "PATCH", "DELETE"],
        allow_headers=["Authorization", "Content-Type", "Idempotency-Key", "X-OTP", "X-Request-Id"],
        expose_headers=["X-Request-Id", "Retry-After"],
        max_age=600,
    )
    app.add_middleware(RequestContext)
    app.add_middleware(SecurityHeaders)
    return app


def _document_problems(app: FastAPI) -> None:
    """Add the `Problem` schema, which every documented failure refers to, to the document."""
    generate = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            document = generate()
            schemas = document.setdefault("components", {}).setdefault("schemas", {})
            schemas.update(problem_components())
        return app.openapi_schema or {}

    app.openapi = openapi  # type: ignore[method-assign]
