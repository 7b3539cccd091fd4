"""Helpers for invoking handlers through Mangum exactly as API Gateway would."""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from typing import Any, Unpack

import pytest

from devstack.functions import load_function
from devstack.lambda_events import FakeLambdaContext, RouteRequest, route_event


@dataclass
class Reply:
    """A handler's API Gateway proxy response, decoded."""

    status: int
    headers: dict[str, str]
    raw_body: str
    # Mangum base64-encodes bodies of types it does not treat as text; API Gateway (no binary
    # media types) would hand that encoding to the client as-is.
    base64_encoded: bool = False

    @property
    def body(self) -> Any:
        return json.loads(self.raw_body) if self.raw_body else None

    @property
    def content_type(self) -> str:
        return self.headers.get("content-type", "")


def invoke(function: str, event: dict[str, Any]) -> Any:
    """Call `functions/<function>`'s handler with `event` and a fake context."""
    return load_function(function).handler(event, FakeLambdaContext(function_name=function))


def call(function: str, *, token: str | None = None, **request: Unpack[RouteRequest]) -> Reply:
    """Invoke the route function through its Mangum handler with a REST proxy event."""
    event = route_event(function, token, **request)
    response = invoke(function, event)
    headers_out = {k.lower(): v for k, v in (response.get("headers") or {}).items()}
    for k, values in (response.get("multiValueHeaders") or {}).items():
        headers_out.setdefault(k.lower(), ",".join(values))
    return Reply(
        response["statusCode"],
        headers_out,
        response.get("body") or "",
        bool(response.get("isBase64Encoded")),
    )


def register_and_login(email: str = "trader@example.com") -> tuple[str, str]:
    """Create a user through the API; returns (user id, access token)."""
    password = "correct horse battery staple"
    created = call("auth_register", body={"email": email, "password": password})
    assert created.status == 201, created.raw_body
    login = call("auth_login", body={"email": email, "password": password})
    assert login.status == 200, login.raw_body
    return created.body["id"], login.body["access_token"]


PROBLEM_LEAKS = ("Traceback", ".py", "pydantic")


def assert_problem(reply: Reply, status: int) -> dict[str, Any]:
    """Assert `reply` is an RFC 9457 problem with `status` that leaks nothing; return its body."""
    assert reply.status == status, f"expected {status}, got {reply.status}: {reply.raw_body}"
    assert reply.content_type.startswith("application/problem+json"), reply.headers
    assert not reply.base64_encoded, "problem+json must reach the client as text"
    for leak in PROBLEM_LEAKS:
        assert leak not in reply.raw_body, f"{leak!r} leaked: {reply.raw_body}"
    body: dict[str, Any] = reply.body
    assert {"type", "title", "status", "detail"} <= body.keys(), body
    assert body["status"] == status
    assert isinstance(body["title"], str)
    assert body["title"]
    assert isinstance(body["detail"], str)
    assert body["detail"]
    return body


def error_fields(reply: Reply) -> list[str]:
    """The field names of an invalid-input problem's `errors`."""
    return [error["field"] for error in reply.body.get("errors", [])]


def configure(monkeypatch: pytest.MonkeyPatch, **env: str) -> None:
    """Set environment variables (named in lower case) and forget cached settings and clients.

    The test's monkeypatch restores the variables, and conftest resets the caches after it.
    """
    from tests.conftest import reset_caches

    for name, value in env.items():
        monkeypatch.setenv(name.upper(), value)
    reset_caches()


def token_claims(subject: str, **overrides: Any) -> dict[str, Any]:
    """The claims of a valid access token for `subject`, with `overrides` (None drops a claim)."""
    from tradebot.settings import get_settings

    settings = get_settings()
    now = int(time.time())
    claims: dict[str, Any] = {
        "sub": subject,
        "iat": now,
        "exp": now + 600,
        "iss": settings.jwt_issuer,
        "aud": settings.jwt_audience,
        "jti": "test",
    }
    claims.update(overrides)
    return {name: value for name, value in claims.items() if value is not None}


def sign_token(claims: dict[str, Any], key: str | None = None, algorithm: str = "HS256") -> str:
    """A JWT over `claims`, signed with the application's key unless `key` is given."""
    import jwt
    from tradebot.app_secrets import get_app_secrets

    if algorithm == "none":
        return jwt.encode(claims, "", algorithm="none")  # "": PyJWT's typed spelling of no key
    secret = key if key is not None else get_app_secrets().jwt_secret.get_secret_value()
    return jwt.encode(claims, secret, algorithm=algorithm)


def user_with_token(email: str = "trader@example.com") -> tuple[str, str]:
    """A user written straight to the database, and their access token; (user id, token).

    For tests about something other than registration: it skips the deliberately slow password
    hash (the account cannot log in with a password). The token belongs to a real session, as a
    login's does, so revoking it or ending it works as it would.
    """
    from tradebot.db.engine import unit_of_work

    with unit_of_work() as session:
        return user_in_session(session, email)


def user_in_session(session: Any, email: str) -> tuple[str, str]:
    """Write a user and a session for them in `session`; (user id, access token)."""
    from tradebot.auth.sessions import open_session
    from tradebot.db.models import User

    user = User(email=email, password_hash="!unusable")
    session.add(user)
    session.flush()
    return user.id, open_session(session, user.id).access.access_token


class FakeTime:
    """A clock that only moves when slept on (a seam for budgets, windows and back-offs)."""

    def __init__(self, now: float) -> None:
        self.now = now
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


def closed_port() -> int:
    """A local TCP port nothing listens on (bound for a moment, then released)."""
    from devstack.ports import free_port

    return free_port()
