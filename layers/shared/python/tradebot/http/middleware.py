"""Pure ASGI middleware (cheaper than BaseHTTPMiddleware): headers, request ids, body limits."""

from __future__ import annotations

import json
import re
import uuid
from typing import Any
from urllib.parse import parse_qsl

from starlette.datastructures import Headers
from starlette.middleware.cors import CORSMiddleware
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from tradebot.audit.context import RequestOrigin, serving
from tradebot.http.problems import problem, unexpected_error
from tradebot.observability import logger

# OWASP Secure Headers Project, recommendations for APIs.
SECURITY_HEADERS: tuple[tuple[bytes, bytes], ...] = (
    (b"cache-control", b"no-store"),
    (b"content-security-policy", b"default-src 'none'; frame-ancestors 'none'"),
    (b"strict-transport-security", b"max-age=63072000; includeSubDomains"),
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"no-referrer"),
    (b"cross-origin-opener-policy", b"same-origin"),
    (b"cross-origin-resource-policy", b"same-origin"),
    (b"cross-origin-embedder-policy", b"require-corp"),
    (b"permissions-policy", b"accelerometer=(), camera=(), geolocation=(), microphone=()"),
    (b"x-permitted-cross-domain-policies", b"none"),
)
_OWN = {name for name, _ in SECURITY_HEADERS}
# The web app's own CSP (its HTML and assets, served by CloudFront and the local stack): all
# from this origin, the API included; nothing inline, no plugins, no framing.
WEB_APP_CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "font-src 'self'; connect-src 'self'; worker-src 'self'; manifest-src 'self'; "
    "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)
# Swagger UI loads its assets from a CDN; only the docs page of the local server relaxes CSP.
_DOCS_CSP = (
    b"default-src 'self'; script-src 'self' 'unsafe-inline' https://cdn.jsdelivr.net; "
    b"style-src 'self' 'unsafe-inline' https://cdn.jsdelivr.net; img-src 'self' data: https:"
)
_REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{1,64}$")


class SecurityHeaders:
    """Adds the security headers to every response, errors and preflights included."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        docs = scope.get("path") in ("/docs", "/docs/oauth2-redirect")

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = [(k, v) for k, v in message.get("headers", []) if k.lower() not in _OWN]
                for name, value in SECURITY_HEADERS:
                    relaxed = docs and name == b"content-security-policy"
                    headers.append((name, _DOCS_CSP if relaxed else value))
                message["headers"] = headers
            await send(message)

        await self.app(scope, receive, send_with_headers)


class StrictCors(CORSMiddleware):
    """Starlette's CORS, except that an origin not in the list is granted nothing at all.

    Starlette exposes headers to any origin, and answers a preflight from an unknown origin
    with a plain-text 400 that still lists the allowed methods and headers; here such requests
    get no Access-Control-* header, and the refused preflight is a problem+json 403.
    """

    async def simple_response(
        self, scope: Scope, receive: Receive, send: Send, request_headers: Headers
    ) -> None:
        origin = request_headers.get("origin")
        if origin is None or self.is_allowed_origin(origin=origin):
            await super().simple_response(scope, receive, send, request_headers)
        else:
            await self.app(scope, receive, send)

    def preflight_response(self, request_headers: Headers) -> Response:
        response = super().preflight_response(request_headers)
        if response.status_code < 400:
            return response
        return problem(403, "This cross-origin request is not allowed", headers={"Vary": "Origin"})


class UnexpectedErrors:
    """Answers an unhandled exception with the 500 problem from inside the middleware stack.

    Starlette answers it in ServerErrorMiddleware, which sits outside every middleware added
    here: that 500 would leave without the security headers, the request id or CORS.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def send_tracking(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, receive, send_tracking)
        except Exception as exc:
            if started:
                raise  # too late for a clean answer; the server closes the response
            await unexpected_error(exc)(scope, receive, send)


class RequestContext:
    """Gives every request an id (API Gateway's, a sane client one, or a new one), logs it, and
    tells the services where the request comes from (`tradebot.audit.context`)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = _request_id(scope)
        scope.setdefault("state", {})["request_id"] = request_id
        logger.append_keys(request_id=request_id, path=scope.get("path"))

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                message.setdefault("headers", []).append((b"x-request-id", request_id.encode()))
            await send(message)

        try:
            with serving(_origin(scope, request_id)):
                await self.app(scope, receive, send_with_id)
        finally:
            # user_id: appended by the authentication dependency once the token is verified.
            logger.remove_keys(["request_id", "path", "user_id"])


def _origin(scope: Scope, request_id: str) -> RequestOrigin:
    # The client address is API Gateway's sourceIp under Mangum, the peer's under uvicorn.
    client = scope.get("client")
    ip = str(client[0]) if client else None
    user_agent = None
    for name, value in scope.get("headers", []):
        if name == b"user-agent":
            user_agent = value.decode("latin-1")
            break
    return RequestOrigin(ip=ip, user_agent=user_agent, request_id=request_id)


def _request_id(scope: Scope) -> str:
    event: dict[str, Any] = scope.get("aws.event") or {}
    from_gateway: object = (event.get("requestContext") or {}).get("requestId")
    if isinstance(from_gateway, str) and from_gateway:
        return from_gateway
    for name, value in scope.get("headers", []):
        if name == b"x-request-id":
            candidate = str(value.decode("latin-1"))
            if _REQUEST_ID.match(candidate):
                return candidate
    return str(uuid.uuid4())


class BodyLimit:
    """Refuses request bodies over `max_bytes` with 413 before any parsing happens."""

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        for name, value in scope.get("headers", []):
            if name == b"content-length" and value.isdigit() and int(value) > self.max_bytes:
                await _too_large(send, self.max_bytes)
                return
        # The body may also arrive without a length (chunked, or Mangum's buffered body): count.
        seen = 0
        chunks: list[Message] = []
        while True:
            message = await receive()
            chunks.append(message)
            if message["type"] != "http.request":
                break
            seen += len(message.get("body", b""))
            if seen > self.max_bytes:
                await _too_large(send, self.max_bytes)
                return
            if not message.get("more_body", False):
                break

        async def replay() -> Message:
            return chunks.pop(0) if chunks else await receive()

        await self.app(scope, replay, send)


# A JSON \u0000 escape that is not itself escaped (an odd run of backslashes before the u).
_JSON_NUL = re.compile(rb"(?<!\\)(?:\\\\)*\\u0000")


class RefuseNul:
    """Refuses NUL characters anywhere in the path, query or JSON body with 422.

    No field of this API may hold one, and PostgreSQL cannot store or even compare text that
    does: left alone, a NUL in an id, a tag or an email would fail deep in a query as a 500.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        field = _nul_in_path_or_query(scope)
        chunks: list[Message] = []
        if field is None:
            # The body is already buffered and bounded by BodyLimit; read it to look inside.
            body = b""
            while True:
                message = await receive()
                chunks.append(message)
                body += message.get("body", b"")
                if message["type"] != "http.request" or not message.get("more_body", False):
                    break
            if _JSON_NUL.search(body):
                field = "body"
        if field is not None:
            await _send_problem(
                send, 422, "Invalid input", f"{field}: must not contain NUL characters",
                errors=[{"field": field, "message": "must not contain NUL characters"}],
            )  # fmt: skip
            return

        async def replay() -> Message:
            return chunks.pop(0) if chunks else await receive()

        await self.app(scope, replay, send)


def _nul_in_path_or_query(scope: Scope) -> str | None:
    if "\x00" in scope.get("path", ""):
        return "path"
    query: bytes = scope.get("query_string", b"")
    if b"\x00" in query or b"%00" in query:
        for name, value in parse_qsl(query.decode("latin-1"), keep_blank_values=True):
            if "\x00" in name + value:
                return name if "\x00" not in name else "query"
    return None


async def _too_large(send: Send, limit: int) -> None:
    detail = f"The request body is larger than {limit} bytes"
    await _send_problem(send, 413, "Payload too large", detail)


async def _send_problem(
    send: Send,
    status: int,
    title: str,
    detail: str,
    errors: list[dict[str, str]] | None = None,
) -> None:
    problem: dict[str, Any] = {
        "type": "urn:tradebot:problem:" + "-".join(title.lower().split()),
        "title": title,
        "status": status,
        "detail": detail,
    }
    if errors is not None:
        problem["errors"] = errors
    body = json.dumps(problem).encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/problem+json"),
                (b"content-length", str(len(body)).encode()),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})
