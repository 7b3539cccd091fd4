"""CORS grants nothing to an origin it does not know, and every answer, errors and refusals
included, carries the OWASP security headers and a request id.
"""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest
from tradebot.http.middleware import SECURITY_HEADERS

from devstack.lambda_events import api_event
from tests.security.conftest import User
from tests.support import Reply, assert_problem, call, configure, invoke

ALLOWED = "http://localhost:3000"
UNKNOWN = [
    "https://evil.example",
    "null",
    "http://localhost:3000.evil.example",
    "http://localhost:3001",
    "https://localhost:3000",
]


def _reply(response: dict[str, Any]) -> Reply:
    headers = {k.lower(): v for k, v in (response.get("headers") or {}).items()}
    for name, values in (response.get("multiValueHeaders") or {}).items():
        headers.setdefault(name.lower(), ",".join(values))
    return Reply(response["statusCode"], headers, response.get("body") or "")


def _raw(function: str, method: str, path: str, headers: dict[str, str]) -> Reply:
    """A request the route table would not make: another method, a preflight."""
    return _reply(invoke(function, api_event(method, path, headers=headers)))


def _preflight(origin: str, request_headers: str = "Authorization") -> Reply:
    headers = {
        "Origin": origin,
        "Access-Control-Request-Method": "GET",
        "Access-Control-Request-Headers": request_headers,
    }
    return _raw("notes_list", "OPTIONS", "/api/notes", headers)


def _assert_secured(reply: Reply) -> None:
    for name, value in SECURITY_HEADERS:
        assert reply.headers.get(name.decode()) == value.decode(), (reply.status, name)
    assert reply.headers.get("x-request-id"), reply.status


def _cors_headers(reply: Reply) -> dict[str, str]:
    return {k: v for k, v in reply.headers.items() if k.startswith("access-control-")}


@pytest.fixture
def boom(monkeypatch: pytest.MonkeyPatch) -> None:
    """Make the notes list fail with an unexpected error whose message must not leak."""
    from tradebot.notes import service

    def fail(*_args: Any, **_kwargs: Any) -> None:
        raise RuntimeError("internal detail: connection string with a password")

    monkeypatch.setattr(service, "list_notes", fail)


def _every_kind_of_answer(token: str, monkeypatch: pytest.MonkeyPatch) -> dict[str, Reply]:
    note = call("notes_create", token=token, body={"title": "x"})
    replies = {
        "200": call("notes_list", token=token),
        "201": note,
        "202": call(
            "trades_create",
            token=token,
            body={"symbol": "BTCUSDT", "side": "BUY", "type": "MARKET", "quantity": "0.0001"},
        ),
        "204": call("notes_delete", token=token, path_params={"note_id": note.body["id"]}),
        "401": call("auth_me", headers={"Authorization": "Bearer forged"}),
        "404": call("notes_get", token=token, path_params={"note_id": "missing"}),
        "405": _raw("notes_get", "POST", "/api/notes/x", {"Authorization": f"Bearer {token}"}),
        "409": call("api_keys_delete", token=token),  # placeholder, replaced below
        "413": call("notes_create", token=token, body={"title": "x", "content": "y" * 70_000}),
        "422": call("notes_create", token=token, body="{bad"),
        "preflight 200": _preflight(ALLOWED),
        "preflight 403": _preflight("https://evil.example"),
    }
    trade = replies["202"].body["id"]
    call("trades_cancel", token=token, path_params={"trade_id": trade})
    replies["409"] = call("trades_cancel", token=token, path_params={"trade_id": trade})
    configure(monkeypatch, rate_limits='{"read": 1, "write": 1, "auth": 1}', rate_window_s="3600")
    call("auth_me", token=token)
    replies["429"] = call("auth_me", token=token)
    return replies


@pytest.mark.usefixtures("prices")
def test_every_kind_of_answer_carries_the_security_headers(
    alice: User, monkeypatch: pytest.MonkeyPatch
) -> None:
    _, token = alice

    replies = _every_kind_of_answer(token, monkeypatch)

    for label, reply in replies.items():
        assert label.endswith(str(reply.status)), (label, reply.status, reply.raw_body)
        _assert_secured(reply)
    for status in ("401", "404", "405", "409", "413", "422", "429", "preflight 403"):
        assert replies[status].content_type.startswith("application/problem+json"), status


@pytest.mark.usefixtures("boom")
def test_an_unexpected_error_is_a_secured_500_problem_that_tells_nothing(alice: User) -> None:
    _, token = alice

    reply = call("notes_list", token=token, headers={"Origin": ALLOWED})

    assert_problem(reply, 500)
    _assert_secured(reply)
    assert reply.headers["access-control-allow-origin"] == ALLOWED
    assert "password" not in reply.raw_body
    assert "RuntimeError" not in reply.raw_body


@pytest.mark.parametrize("origin", UNKNOWN)
def test_an_unknown_origin_gets_no_cors_header_on_a_request(origin: str) -> None:
    reply = call("health", headers={"Origin": origin})

    assert reply.status == 200
    assert _cors_headers(reply) == {}
    _assert_secured(reply)


@pytest.mark.parametrize("origin", UNKNOWN)
def test_a_preflight_from_an_unknown_origin_is_refused_without_allow_headers(origin: str) -> None:
    reply = _preflight(origin)

    assert_problem(reply, 403)
    assert _cors_headers(reply) == {}
    _assert_secured(reply)


def test_a_preflight_asking_for_an_unlisted_header_is_refused_without_allow_headers() -> None:
    reply = _preflight(ALLOWED, request_headers="Authorization, X-Forwarded-User")

    assert_problem(reply, 403)
    assert _cors_headers(reply) == {}


def test_an_allowed_origin_is_granted_exactly_what_the_api_needs() -> None:
    preflight = _preflight(
        ALLOWED, request_headers="Authorization, Content-Type, Idempotency-Key, X-OTP"
    )
    simple = call("health", headers={"Origin": ALLOWED})

    assert preflight.status == 200
    assert preflight.headers["access-control-allow-origin"] == ALLOWED
    assert "access-control-allow-credentials" not in preflight.headers
    assert simple.headers["access-control-allow-origin"] == ALLOWED
    assert "retry-after" in simple.headers["access-control-expose-headers"].lower()
    _assert_secured(preflight)


def _local(requests: list[tuple[str, str, dict[str, str]]]) -> list[httpx.Response]:
    """Send `requests` (method, path, headers) to the local server's app (every route)."""
    from devstack.server import build_local_app

    app = build_local_app()

    async def send_all() -> list[httpx.Response]:
        transport = httpx.ASGITransport(app)
        async with httpx.AsyncClient(transport=transport, base_url="http://local") as client:
            return [await client.request(m, path, headers=h) for m, path, h in requests]

    # Not asyncio.run: it would leave the main thread without the event loop Mangum reuses.
    loop = asyncio.new_event_loop()
    try:
        return loop.run_until_complete(send_all())
    finally:
        loop.close()


def test_the_local_server_secures_unknown_paths_wrong_methods_and_refusals() -> None:
    preflight = {"Origin": "https://evil.example", "Access-Control-Request-Method": "GET"}
    statuses = [404, 405, 401, 403]

    responses = _local(
        [
            ("GET", "/no/such/route", {}),
            ("PUT", "/health", {}),
            ("GET", "/api/dashboard", {}),
            ("OPTIONS", "/api/notes", preflight),
        ]
    )

    for status, response in zip(statuses, responses, strict=True):
        assert response.status_code == status
        assert response.headers["content-type"].startswith("application/problem+json")
        for name, value in SECURITY_HEADERS:
            assert response.headers.get(name.decode()) == value.decode(), (status, name)
        assert response.headers.get("x-request-id")
        assert not [h for h in response.headers if h.lower().startswith("access-control-")]
