"""The one mapping from failures to problem+json: field names, statuses, headers."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Annotated, Any

import httpx
import pytest
from fastapi import APIRouter, Query
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel, ConfigDict, StringConstraints
from tradebot import errors
from tradebot.http.app import create_app
from tradebot.http.problems import PROBLEM_JSON, field_errors


def _fields(*raw: dict[str, Any]) -> list[tuple[str, str]]:
    return [(e.field, e.message) for e in field_errors(RequestValidationError(list(raw)))]


@pytest.mark.parametrize(
    ("loc", "field"),
    [
        (("body", "title"), "title"),
        (("body", "tags", 0), "tags[0]"),
        (("body", "legs", 2, "price"), "legs[2].price"),
        (("body", "filter", "since"), "filter.since"),
        (("query", "limit"), "limit"),
        (("path", "note_id"), "note_id"),
        (("header", "idempotency-key"), "idempotency-key"),
        (("body",), "body"),
        ((), "body"),
    ],
)
def test_a_field_is_named_as_the_client_sent_it(loc: tuple[Any, ...], field: str) -> None:
    assert _fields({"type": "string_too_long", "loc": loc, "msg": "too long"}) == [
        (field, "too long")
    ]


def test_unparsable_json_names_the_body_not_a_character_offset() -> None:
    raw = {"type": "json_invalid", "loc": ("body", 1), "msg": "JSON decode error"}

    assert _fields(raw) == [("body", "is not valid JSON")]


@pytest.mark.parametrize(
    ("kind", "msg", "message"),
    [
        ("missing", "Field required", "is required"),
        ("extra_forbidden", "Extra inputs are not permitted", "is not a known field"),
        ("value_error", "Value error, must contain only letters", "must contain only letters"),
        ("assertion_error", "Assertion failed, bad", "bad"),
    ],
)
def test_messages_drop_pydantic_wording(kind: str, msg: str, message: str) -> None:
    assert _fields({"type": kind, "loc": ("body", "x"), "msg": msg}) == [("x", message)]


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid")
    title: str
    tags: list[Annotated[str, StringConstraints(max_length=3)]] = []


_FAILURES: dict[str, Exception] = {
    "invalid": errors.InvalidInput.on("quantity", "must be positive"),
    "unauthenticated": errors.NotAuthenticated("no token"),
    "missing": errors.NotFound("no such thing"),
    "conflict": errors.Conflict("already there"),
    "limited": errors.RateLimitedError(retry_after_s=7),
    "down": errors.ServiceUnavailable("database down"),
    "rejected": errors.OrderRejected("-2010 insufficient", code=-2010),
    "bad-key": errors.InvalidApiKey("-2015 bad key", code=-2015),
    "exchange-down": errors.OutcomeUnknown("timeout"),
    "bug": RuntimeError("secret internal detail in /srv/app/module.py"),
}


class Client:
    """A synchronous face on an in-process ASGI client (no server, no sockets)."""

    def __init__(self, app: Any) -> None:
        transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
        self._client = httpx.AsyncClient(transport=transport, base_url="http://test")
        self._loop = asyncio.new_event_loop()

    def get(self, url: str) -> httpx.Response:
        return self._loop.run_until_complete(self._client.get(url))

    def post(self, url: str, json: Any) -> httpx.Response:
        return self._loop.run_until_complete(self._client.post(url, json=json))

    def close(self) -> None:
        self._loop.run_until_complete(self._client.aclose())
        self._loop.close()


@pytest.fixture(scope="module")
def client() -> Iterator[Client]:
    router = APIRouter()

    @router.get("/fail/{name}")
    def fail(name: str) -> None:
        raise _FAILURES[name]

    @router.post("/echo")
    def echo(body: _Body, limit: Annotated[int, Query(ge=1)] = 1) -> dict[str, Any]:
        return body.model_dump()

    client = Client(create_app([router]))
    yield client
    client.close()


@pytest.mark.parametrize(
    ("name", "status"),
    [
        ("invalid", 422),
        ("unauthenticated", 401),
        ("missing", 404),
        ("conflict", 409),
        ("limited", 429),
        ("down", 503),
        ("rejected", 422),
        ("bad-key", 400),
        ("exchange-down", 503),
        ("bug", 500),
    ],
)
def test_each_failure_is_a_problem_with_its_status(client: Client, name: str, status: int) -> None:
    reply = client.get(f"/fail/{name}")

    assert reply.status_code == status
    assert reply.headers["content-type"] == PROBLEM_JSON
    body = reply.json()
    assert body["status"] == status
    assert {"type", "title", "status", "detail"} <= body.keys()


def test_an_unexpected_error_reveals_nothing_internal(client: Client) -> None:
    reply = client.get("/fail/bug")

    assert "secret internal detail" not in reply.text
    assert ".py" not in reply.text
    assert reply.json()["type"] == "about:blank"


def test_invalid_input_lists_its_fields(client: Client) -> None:
    body = client.get("/fail/invalid").json()

    assert body["type"] == "urn:tradebot:problem:invalid-input"
    assert body["errors"] == [{"field": "quantity", "message": "must be positive"}]


def test_rate_limited_says_when_to_retry(client: Client) -> None:
    assert client.get("/fail/limited").headers["retry-after"] == "7"


def test_unauthenticated_names_the_bearer_scheme(client: Client) -> None:
    assert client.get("/fail/unauthenticated").headers["www-authenticate"] == "Bearer"


def test_request_validation_names_body_items_and_query_parameters(client: Client) -> None:
    reply = client.post("/echo?limit=0", json={"title": "x", "tags": ["ok", "long"], "extra": 1})

    assert reply.status_code == 422
    fields = {error["field"] for error in reply.json()["errors"]}
    assert fields == {"tags[1]", "extra", "limit"}
    assert "pydantic" not in reply.text


def test_an_unknown_path_is_a_problem_too(client: Client) -> None:
    reply = client.get("/nowhere")

    assert reply.status_code == 404
    assert reply.headers["content-type"] == PROBLEM_JSON
