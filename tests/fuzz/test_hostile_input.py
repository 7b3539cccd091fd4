"""Hostile requests: too big, too deep, too long, not UTF-8, NUL characters, forged cursors.

Each is answered at once with a 4xx problem (never a hang, never a 500), and the oversized
ones before the route reads them.
"""

from __future__ import annotations

import asyncio
import base64
import json
import time
from collections.abc import AsyncIterator, Callable
from datetime import datetime, timedelta
from typing import Any

import httpx
import pytest

from devstack.lambda_events import api_event
from tests.security.conftest import User
from tests.support import Reply, assert_problem, call, error_fields, invoke

LIMIT = 64 * 1024  # MAX_BODY_BYTES
BOUND_S = 2.0  # a generous bound on a machine shared with the rest of the suite
MARKET = {"symbol": "BTCUSDT", "side": "BUY", "type": "MARKET"}


def _timed(send: Callable[[], Reply]) -> tuple[Reply, float]:
    started = time.perf_counter()
    reply = send()
    return reply, time.perf_counter() - started


def _raw_body(token: str, function: str, path: str, body: str | bytes, **headers: str) -> Reply:
    """POST a raw body through the route's Mangum handler (bytes go base64, as API Gateway
    sends a body it cannot pass as text)."""
    event = api_event(
        "POST",
        path,
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json", **headers},
    )
    if isinstance(body, bytes):
        event["body"], event["isBase64Encoded"] = base64.b64encode(body).decode(), True
    else:
        event["body"] = body
    response = invoke(function, event)
    headers_out = {k.lower(): v for k, v in response["headers"].items()}
    return Reply(response["statusCode"], headers_out, response["body"])


# --- size -------------------------------------------------------------------------------------


@pytest.mark.parametrize("declared", ["exact", "absent", "understated"])
def test_a_body_over_the_limit_is_413_whatever_content_length_says(
    alice: User, declared: str
) -> None:
    _, token = alice
    body = json.dumps({"title": "x", "content": "y" * LIMIT})
    lengths = {"exact": str(len(body)), "understated": "10"}
    headers = {"Content-Length": lengths[declared]} if declared in lengths else {}

    reply = _raw_body(token, "notes_create", "/api/notes", body, **headers)

    problem = assert_problem(reply, 413)
    assert problem["title"] == "Payload too large"
    assert call("notes_list", token=token).body["items"] == []


def test_a_streamed_body_without_a_length_is_cut_off_at_the_limit(alice: User) -> None:
    from devstack.server import build_local_app

    _, token = alice
    app = build_local_app()
    chunk, chunks = b" " * 4096, 1024  # 4 MiB offered, chunked, no Content-Length
    pulled = 0

    async def stream() -> AsyncIterator[bytes]:
        nonlocal pulled
        for _ in range(chunks):
            pulled += 1
            yield chunk

    async def send() -> httpx.Response:
        transport = httpx.ASGITransport(app)
        async with httpx.AsyncClient(transport=transport, base_url="http://local") as client:
            headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
            return await client.post("/api/notes", content=stream(), headers=headers)

    # Not asyncio.run: it would leave the main thread without the event loop Mangum reuses.
    loop = asyncio.new_event_loop()
    try:
        response = loop.run_until_complete(send())
    finally:
        loop.close()

    assert response.status_code == 413
    assert "content-length" not in response.request.headers
    assert pulled * len(chunk) <= LIMIT + 2 * len(chunk), "reading stopped at the limit"


# --- depth and length -----------------------------------------------------------------------

NESTED = {
    "100k arrays (over the limit)": "[" * 100_000 + "]" * 100_000,
    "30k arrays": "[" * 30_000 + "]" * 30_000,
    "10k objects": '{"a":' * 10_000 + "1" + "}" * 10_000,
    "deep inside a field": '{"title": ' + "[" * 30_000 + "]" * 30_000 + "}",
    "unclosed": "[" * 60_000,
}


@pytest.mark.parametrize("body", NESTED.values(), ids=NESTED.keys())
def test_deeply_nested_json_is_refused_at_once(alice: User, body: str) -> None:
    _, token = alice

    reply, elapsed = _timed(lambda: _raw_body(token, "notes_create", "/api/notes", body))

    assert elapsed < BOUND_S
    expected = 413 if len(body) > LIMIT else 422
    assert_problem(reply, expected)
    if expected == 422:
        assert error_fields(reply) == ["body"]


HUGE = {
    "60k-digit integer": (f'{{"quantity": {"7" * 60_000}}}', "body"),
    "60k-digit decimal": (f'{{"quantity": 0.{"7" * 60_000}}}', "quantity"),
    "overflowing exponent": ('{"quantity": 1e999999999}', "quantity"),
    "negative exponent": ('{"quantity": 1e-999999999}', "quantity"),
    "60k-digit string": (f'{{"quantity": "{"7" * 60_000}"}}', "quantity"),
    "NaN": ('{"quantity": NaN}', "quantity"),
    "Infinity": ('{"quantity": -Infinity}', "quantity"),
}


@pytest.mark.usefixtures("prices")
@pytest.mark.parametrize(("fragment", "field"), HUGE.values(), ids=HUGE.keys())
def test_huge_numbers_and_strings_under_the_limit_are_422_at_once(
    alice: User, fragment: str, field: str
) -> None:
    _, token = alice
    order = json.dumps(MARKET)[:-1] + ", " + fragment[1:]  # the order with the hostile field
    assert len(order) < LIMIT

    reply, elapsed = _timed(lambda: _raw_body(token, "trades_create", "/api/trading/trades", order))

    assert elapsed < BOUND_S
    assert_problem(reply, 422)
    assert field in error_fields(reply)
    assert "7" * 20 not in reply.raw_body  # the input is never echoed


def test_a_long_text_field_is_422_naming_it(alice: User) -> None:
    _, token = alice

    reply = call("notes_create", token=token, body={"title": "t" * 60_000})

    assert_problem(reply, 422)
    assert error_fields(reply) == ["title"]


NOT_UTF8 = {
    "invalid byte": (b'{"title": "\xff\xfe"}', "body"),
    "bad sequence after a BOM": (b"\xef\xbb\xbf\xc3\x28", "body"),
    # Python's JSON reader lets an encoded surrogate through; the string check then names it.
    "encoded surrogate": (b'{"title": "\xed\xa0\x80"}', "title"),
    "escaped lone surrogate": (b'{"title": "ok", "content": "x\\udfffy"}', "content"),
}


@pytest.mark.parametrize(("body", "field"), NOT_UTF8.values(), ids=NOT_UTF8.keys())
def test_a_body_that_is_not_utf8_is_422_naming_the_field(
    alice: User, body: bytes, field: str
) -> None:
    _, token = alice

    reply = _raw_body(token, "notes_create", "/api/notes", body)

    assert_problem(reply, 422)
    assert error_fields(reply) == [field]


# --- NUL characters (PostgreSQL refuses text holding one) -----------------------------------


def test_nul_anywhere_is_422_naming_where(alice: User) -> None:
    _, token = alice

    in_body = call("notes_create", token=token, body={"title": "a\x00b"})
    in_email = call("auth_login", body={"email": "a\x00@example.com", "password": "p" * 12})
    in_path = call("notes_get", token=token, path_params={"note_id": "id\x00"})
    in_query = call("notes_list", token=token, query={"tag": "btc\x00"})

    for reply in (in_body, in_email, in_path, in_query):
        assert_problem(reply, 422)
    assert error_fields(in_body) == error_fields(in_email) == ["body"]
    assert error_fields(in_path) == ["path"]
    assert error_fields(in_query) == ["tag"]


def test_text_that_only_looks_like_a_nul_escape_is_stored_as_written(alice: User) -> None:
    _, token = alice

    reply = call("notes_create", token=token, body={"title": "\\u0000 is how JSON writes NUL"})

    assert reply.status == 201
    assert reply.body["title"] == "\\u0000 is how JSON writes NUL"


# --- cursors and times --------------------------------------------------------------------


def _cursor(position: Any) -> str:
    return base64.urlsafe_b64encode(json.dumps(position).encode()).decode().rstrip("=")


FORGED = {
    "naive time": ["2026-01-01T00:00:00", "00000000-0000-0000-0000-000000000000"],
    "NUL in the id": ["2026-01-01T00:00:00+00:00", "id\x00"],
    "not a time": ["yesterday", "x"],
    "wrong length": ["2026-01-01T00:00:00+00:00"],
    "an object": {"created": "2026-01-01T00:00:00+00:00"},
    "nested": [["2026-01-01T00:00:00+00:00"], ["x"]],
}


@pytest.mark.parametrize("function", ["trades_list", "notes_list"])
@pytest.mark.parametrize("position", FORGED.values(), ids=FORGED.keys())
def test_a_forged_cursor_is_422_naming_cursor(alice: User, function: str, position: Any) -> None:
    _, token = alice
    if function == "notes_list" and isinstance(position, list) and len(position) == 2:
        position = [False, *position]  # a notes cursor has the pinned flag first

    reply = call(function, token=token, query={"cursor": _cursor(position)})

    assert_problem(reply, 422)
    assert error_fields(reply) == ["cursor"]


@pytest.mark.parametrize("value", ["13", "1764064800", "-1", "1e9", "now", "2026-13-01"])
def test_a_time_filter_that_is_not_iso_8601_is_422_naming_it(alice: User, value: str) -> None:
    _, token = alice

    reply = call("trades_list", token=token, query={"since": value})

    assert_problem(reply, 422)
    assert error_fields(reply) == ["since"]


@pytest.mark.usefixtures("prices")
def test_a_time_filter_without_an_offset_means_utc(alice: User) -> None:
    _, token = alice
    placed = call("trades_create", token=token, body={**MARKET, "quantity": "0.0001"})
    assert placed.status == 202
    created = datetime.fromisoformat(placed.body["created_at"]).replace(tzinfo=None)
    midnight = created.replace(hour=0, minute=0, second=0, microsecond=0).isoformat()
    tomorrow = (created + timedelta(days=1)).isoformat()

    since_midnight = call("trades_list", token=token, query={"since": midnight})
    until_midnight = call("trades_list", token=token, query={"until": midnight})
    since_tomorrow = call("trades_list", token=token, query={"since": tomorrow})

    assert [t["id"] for t in since_midnight.body["items"]] == [placed.body["id"]]
    assert until_midnight.body["items"] == []
    assert since_tomorrow.body["items"] == []
