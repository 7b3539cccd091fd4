"""Every failure becomes `application/problem+json` (RFC 9457); registered once in the app."""

from __future__ import annotations

import logging
from http import HTTPStatus
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from tradebot.errors import DomainError, FieldError, InvalidInput, RateLimitedError

logger = logging.getLogger(__name__)

PROBLEM_JSON = "application/problem+json"


def problem(
    status: int,
    detail: str,
    *,
    title: str | None = None,
    errors: list[FieldError] | None = None,
    headers: dict[str, str] | None = None,
) -> JSONResponse:
    """A problem+json response."""
    phrase = HTTPStatus(status).phrase
    body: dict[str, Any] = {
        "type": "about:blank" if title is None else f"urn:tradebot:problem:{_slug(title)}",
        "title": title or phrase,
        "status": status,
        "detail": detail,
    }
    if errors is not None:
        body["errors"] = [{"field": e.field, "message": e.message} for e in errors]
    return JSONResponse(body, status_code=status, media_type=PROBLEM_JSON, headers=headers)


def _slug(title: str) -> str:
    return "-".join(title.lower().split())


def _field_name(loc: tuple[int | str, ...]) -> str:
    parts = list(loc)
    if parts and parts[0] in ("body", "query", "path", "header", "cookie"):
        parts = parts[1:]
    if not parts:
        return "body"
    name = ""
    for part in parts:
        if isinstance(part, int):
            name += f"[{part}]"
        else:
            name += ("." if name else "") + part
    return name


def _message(error: dict[str, Any]) -> str:
    kind = error.get("type", "")
    if kind == "json_invalid":
        return "is not valid JSON"
    if kind == "missing":
        return "is required"
    if kind == "extra_forbidden":
        return "is not a known field"
    message = str(error.get("msg", "is invalid"))
    # pydantic prefixes our own validator messages; the caller needs only the reason.
    for prefix in ("Value error, ", "Assertion failed, "):
        if message.startswith(prefix):
            message = message[len(prefix) :]
    return message


def _error_field(error: dict[str, Any]) -> str:
    # For unparsable JSON the location holds a character offset, not a field: the body is wrong.
    if error.get("type") == "json_invalid":
        return "body"
    return _field_name(tuple(error.get("loc", ())))


def field_errors(exc: RequestValidationError) -> list[FieldError]:
    """The invalid fields, named as the client sent them; input values are never echoed."""
    return [FieldError(_error_field(e), _message(e)) for e in exc.errors()]


async def _on_validation(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    errors = field_errors(exc)
    detail = "; ".join(f"{e.field}: {e.message}" for e in errors)
    return problem(422, detail, title="Invalid input", errors=errors)


async def _on_domain(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, DomainError)
    headers: dict[str, str] = {}
    if isinstance(exc, RateLimitedError):
        headers["Retry-After"] = str(exc.retry_after_s)
    if exc.status == 401:
        headers["WWW-Authenticate"] = "Bearer"
    errors = exc.errors if isinstance(exc, InvalidInput) else None
    if exc.status >= 500:
        logger.warning("dependency failure", extra={"error": type(exc).__name__})
    return problem(exc.status, exc.detail, title=exc.title, errors=errors, headers=headers)


async def _on_http(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    detail = exc.detail if isinstance(exc.detail, str) else HTTPStatus(exc.status_code).phrase
    return problem(exc.status_code, detail, headers=dict(exc.headers or {}))


async def _on_unexpected(_request: Request, exc: Exception) -> JSONResponse:
    # The traceback goes to the log (without request bodies); the client learns nothing internal.
    logger.exception("unhandled error", extra={"error": type(exc).__name__})
    return problem(500, "An unexpected error occurred; it has been logged")


def install_problem_handlers(app: FastAPI) -> None:
    """Register the one mapping from failures to problem+json."""
    app.add_exception_handler(RequestValidationError, _on_validation)
    app.add_exception_handler(DomainError, _on_domain)
    app.add_exception_handler(StarletteHTTPException, _on_http)
    app.add_exception_handler(Exception, _on_unexpected)
