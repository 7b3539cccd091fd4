"""What every route's response carries: security headers, request ids, CORS, limits."""

from __future__ import annotations

from typing import Any

import pytest
from tradebot.http.middleware import SECURITY_HEADERS

from devstack.lambda_events import api_event
from tests.support import (
    Reply,
    assert_problem,
    call,
    configure,
    invoke,
    register_and_login,
    user_with_token,
)

LIMITS = '{"read": 2, "write": 2, "auth": 2}'
PASSWORD = "correct horse battery staple"


def _assert_security_headers(reply: Reply) -> None:
    for name, value in SECURITY_HEADERS:
        assert reply.headers.get(name.decode()) == value.decode(), name
    assert reply.headers.get("x-request-id")


def test_security_headers_and_a_request_id_on_success_and_on_every_kind_of_error() -> None:
    _, token = register_and_login()

    replies = {
        "200": call("auth_me", token=token),
        "201": call("notes_create", token=token, body={"title": "x"}),
        "204": call("api_keys_delete", token=token),
        "401": call("auth_me"),
        "404": call("notes_get", token=token, path_params={"note_id": "missing"}),
        "409": call("auth_register", body={"email": "trader@example.com", "password": PASSWORD}),
        "413": call("notes_create", token=token, body={"title": "x", "content": "y" * 70_000}),
        "422": call("notes_create", token=token, body="{bad"),
    }

    for status, reply in replies.items():
        assert str(reply.status) == status
        _assert_security_headers(reply)


def test_the_request_id_is_api_gateways() -> None:
    event = api_event("GET", "/health")

    response = invoke("health", event)

    assert response["headers"]["x-request-id"] == event["requestContext"]["requestId"]


def test_a_body_over_64_kib_is_413_problem_json() -> None:
    _, token = user_with_token()

    reply = call("notes_create", token=token, body={"title": "x", "content": "y" * (64 * 1024)})

    body = assert_problem(reply, 413)
    assert body["title"] == "Payload too large"
    assert call("notes_list", token=token).body["items"] == []


def test_a_body_over_64_kib_is_refused_even_before_authentication() -> None:
    assert_problem(call("auth_register", body={"email": "a@b.co", "password": "p" * 70_000}), 413)


def test_an_allowed_origin_is_granted_cors() -> None:
    reply = call("health", headers={"Origin": "http://localhost:3000"})

    assert reply.headers["access-control-allow-origin"] == "http://localhost:3000"
    assert "x-request-id" in reply.headers["access-control-expose-headers"].lower()


def test_an_unknown_origin_is_not_granted_cors() -> None:
    reply = call("health", headers={"Origin": "https://evil.example"})

    assert reply.status == 200
    assert "access-control-allow-origin" not in reply.headers


def test_authenticated_routes_are_limited_per_user(monkeypatch: pytest.MonkeyPatch) -> None:
    _, alice = user_with_token("alice@example.com")
    _, bob = user_with_token("bob@example.com")
    configure(monkeypatch, rate_limits=LIMITS, rate_window_s="3600")

    allowed = [call("auth_me", token=alice).status for _ in range(2)]
    limited = call("auth_me", token=alice)

    assert allowed == [200, 200]
    assert_problem(limited, 429)
    assert int(limited.headers["retry-after"]) > 0
    assert call("auth_me", token=bob).status == 200  # another user has their own budget


def test_read_and_write_routes_have_separate_budgets(monkeypatch: pytest.MonkeyPatch) -> None:
    _, token = user_with_token()
    configure(monkeypatch, rate_limits=LIMITS, rate_window_s="3600")
    for _ in range(2):
        call("notes_list", token=token)

    assert_problem(call("notes_list", token=token), 429)
    assert call("notes_create", token=token, body={"title": "x"}).status == 201


def test_login_is_limited_per_source_address(monkeypatch: pytest.MonkeyPatch) -> None:
    register_and_login("trader@example.com")
    configure(monkeypatch, rate_limits=LIMITS, rate_window_s="3600")
    guess = {"email": "trader@example.com", "password": "wrong guess 123"}

    tries = [call("auth_login", body=guess, source_ip="203.0.113.7") for _ in range(3)]

    assert [t.status for t in tries[:2]] == [401, 401]
    assert_problem(tries[2], 429)
    retry_after = tries[2].headers["retry-after"]
    assert retry_after.isdigit()
    assert int(retry_after) > 0
    elsewhere = call("auth_login", body=guess, source_ip="198.51.100.9")
    assert elsewhere.status == 401


def test_a_lambda_request_runs_its_sync_code_on_the_invoking_thread(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import threading

    from tradebot.auth.tokens import read_access_token
    from tradebot.http import deps
    from tradebot.notes import service

    threads: list[str] = []

    def recorded(function: Any) -> Any:
        def run(*args: Any, **kwargs: Any) -> Any:
            threads.append(threading.current_thread().name)
            return function(*args, **kwargs)

        return run

    # The token check runs in a sync dependency, the listing in the sync endpoint.
    monkeypatch.setattr(deps, "read_access_token", recorded(read_access_token))
    monkeypatch.setattr(service, "list_notes", recorded(service.list_notes))
    _, token = user_with_token()

    reply = call("notes_list", token=token)

    assert reply.status == 200
    assert threads == [threading.current_thread().name] * 2


def test_the_local_server_runs_inline_all_but_the_routes_that_wait_on_the_exchange(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import asyncio

    import httpx
    from tradebot.http import inline
    from tradebot.notes import service
    from tradebot.portfolio import dashboard

    from devstack.functions import load_function
    from devstack.server import build_local_app

    seen: dict[str, bool] = {}

    def recorded(name: str, function: Any) -> Any:
        def run(*args: Any, **kwargs: Any) -> Any:
            seen[name] = inline.running_inline()
            return function(*args, **kwargs)

        return run

    monkeypatch.setattr(service, "list_notes", recorded("notes", service.list_notes))
    monkeypatch.setattr(
        load_function("dashboard"),
        "build_dashboard",
        recorded("dashboard", dashboard.build_dashboard),
    )
    _, token = user_with_token()
    app = build_local_app()

    async def send_all() -> list[int]:
        transport = httpx.ASGITransport(app)
        headers = {"Authorization": f"Bearer {token}"}
        async with httpx.AsyncClient(transport=transport, base_url="http://local") as client:
            return [
                (await client.get(path, headers=headers)).status_code
                for path in ("/api/notes", "/api/dashboard")
            ]

    loop = asyncio.new_event_loop()  # not asyncio.run: Mangum reuses this thread's loop
    try:
        statuses = loop.run_until_complete(send_all())
    finally:
        loop.close()

    assert statuses == [200, 200]
    assert seen == {"notes": True, "dashboard": False}
