"""Every failure becomes `application/problem+json` (RFC 9457); registered once in the app."""

from __future__ import annotations

import logging
from http import HTTPStatus
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from sqlalchemy.exc import DBAPIError, IntegrityError
from starlette.exceptions import HTTPException as StarletteHTTPException

from tradebot.errors import (
    DomainError,
    FieldError,
    InvalidInput,
    RateLimitedError,
    RefreshRefused,
)

logger = logging.getLogger(__name__)

PROBLEM_JSON = "application/problem+json"


class FieldProblem(BaseModel):
    """One invalid input field and what is wrong with it."""

    field: str
    message: str


class OpenOrderProblem(BaseModel):
    """An order that may still be open on the exchange."""

    id: str
    symbol: str
    status: str


class Problem(BaseModel):
    """An RFC 9457 problem, as every error response carries it."""

    type: str
    title: str
    status: int
    detail: str
    errors: list[FieldProblem] | None = Field(default=None, description="For invalid input")
    open_orders: list[OpenOrderProblem] | None = Field(
        default=None,
        description="For `live-orders-open`: the first few orders that may still be open on "
        "the exchange (POST /api/trading/cancel-all cancels them)",
    )


def problem_components() -> dict[str, Any]:
    """The OpenAPI component schemas of `Problem` (and what it refers to)."""
    schema = Problem.model_json_schema(ref_template="#/components/schemas/{model}")
    components: dict[str, Any] = schema.pop("$defs", {})
    components["Problem"] = schema
    return components


PROBLEM_REF: dict[str, Any] = {"$ref": "#/components/schemas/Problem"}


def problem(
    status: int,
    detail: str,
    *,
    title: str | None = None,
    errors: list[FieldError] | None = None,
    headers: dict[str, str] | None = None,
    extensions: dict[str, object] | None = None,
) -> JSONResponse:
    """A problem+json response (`extensions`: extra members, never the standard ones)."""
    phrase = HTTPStatus(status).phrase
    body: dict[str, Any] = {
        "type": "about:blank" if title is None else f"urn:tradebot:problem:{_slug(title)}",
        "title": title or phrase,
        "status": status,
        "detail": detail,
    }
    if errors is not None:
        body["errors"] = [{"field": e.field, "message": e.message} for e in errors]
    for name, value in (extensions or {}).items():
        body.setdefault(name, value)
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
    if isinstance(exc, RefreshRefused):
        from tradebot.http.cookies import cleared_refresh_cookie

        headers["Set-Cookie"] = cleared_refresh_cookie()
    errors = exc.errors if isinstance(exc, InvalidInput) else None
    if exc.status >= 500:
        logger.warning("dependency failure", extra={"error": type(exc).__name__})
    return problem(
        exc.status,
        exc.detail,
        title=exc.title,
        errors=errors,
        headers=headers,
        extensions=exc.extensions(),
    )


async def _on_http(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    if _unparsable_body(exc):
        return problem(
            422, "body: is not valid JSON", title="Invalid input",
            errors=[FieldError("body", "is not valid JSON")],
        )  # fmt: skip
    detail = exc.detail if isinstance(exc.detail, str) else HTTPStatus(exc.status_code).phrase
    return problem(exc.status_code, detail, headers=dict(exc.headers or {}))


def _unparsable_body(exc: StarletteHTTPException) -> bool:
    # FastAPI answers a JSON body it cannot even decode (bytes that are not UTF-8, nesting past
    # the recursion limit) with a bare 400; to the client it is the same mistake as bad JSON.
    return exc.status_code == 400 and isinstance(exc.__cause__, (ValueError, RecursionError))


def unexpected_error(exc: BaseException) -> JSONResponse:
    """Log an unhandled error with its traceback; the 500 problem tells the client nothing."""
    # The traceback goes to the log (without request bodies); the client learns nothing internal.
    logger.error("unhandled error", exc_info=exc, extra={"error": type(exc).__name__})
    return problem(500, "An unexpected error occurred; it has been logged")


async def _on_unexpected(_request: Request, exc: Exception) -> JSONResponse:
    return unexpected_error(exc)


def _violates_constraint(exc: DBAPIError) -> bool:
    if isinstance(exc, IntegrityError):
        return True
    # pg8000 reports only unique violations as IntegrityError; its other errors carry the
    # SQLSTATE, whose class 23 is "integrity constraint violation" (e.g. a foreign key).
    details = exc.orig.args[0] if exc.orig is not None and exc.orig.args else None
    return isinstance(details, dict) and str(details.get("C", "")).startswith("23")


async def _on_database(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, DBAPIError)
    if not _violates_constraint(exc):
        return unexpected_error(exc)
    # A constraint the request broke after validation (a token whose user is gone, a race on a
    # unique key): nothing changed, and the same request will not succeed on retry.
    logger.warning("constraint violation", extra={"error": type(exc).__name__})
    return problem(409, "The request conflicts with the current state", title="Conflict")


def install_problem_handlers(app: FastAPI) -> None:
    """Register the one mapping from failures to problem+json."""
    app.add_exception_handler(RequestValidationError, _on_validation)
    app.add_exception_handler(DomainError, _on_domain)
    app.add_exception_handler(StarletteHTTPException, _on_http)
    app.add_exception_handler(DBAPIError, _on_database)
    app.add_exception_handler(Exception, _on_unexpected)
