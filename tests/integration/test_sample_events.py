"""Every sample event in events/ runs through its function's handler as `make invoke` runs it."""

from __future__ import annotations

from typing import Any

import pytest
from alembic.script import ScriptDirectory
from tradebot.db.migrate import alembic_config
from tradebot.http.routes import ROUTES, WORKERS

from devstack.invoke import demo_access_token
from devstack.lambda_events import EVENTS, TOKEN_PLACEHOLDER, load_event
from tests.support import Reply, assert_problem, invoke

# What each route's sample answers against an empty database, with the demo user logged in.
EXPECTED_STATUS = {
    "health": 200,  # degraded (no prices yet) is still 200
    "auth_register": 201,
    "auth_login": 200,  # the demo user's credentials
    "auth_me": 200,
    "auth_refresh": 401,  # the sample carries no refresh cookie
    "auth_logout": 204,
    "sessions_list": 200,
    "sessions_delete": 404,  # the sample's id does not exist
    "password_change": 401,  # the sample's current password is a placeholder
    "account_delete": 401,  # likewise: the sample never erases the demo user
    "api_keys_put": 200,
    "api_keys_get": 404,  # nothing stored yet
    "api_keys_delete": 204,
    "account_events": 200,
    "limits_get": 200,  # the defaults
    "limits_put": 200,  # lowering a limit needs no password
    "twofa_start": 200,  # a new secret to confirm
    "twofa_confirm": 409,  # no enrolment started: nothing to confirm
    "twofa_disable": 204,  # 2FA is off: the password alone, and nothing to turn off
    "notes_list": 200,
    "notes_create": 201,
    "notes_get": 404,  # the sample's id does not exist
    "notes_update": 404,
    "notes_delete": 404,
    "market_symbols": 200,
    "market_prices": 200,
    "market_price": 404,  # no price cached until the updater has run
    "market_price_history": 200,  # no points yet: an empty list
    "trades_create": 202,
    "trades_list": 200,
    "trades_get": 404,
    "trades_cancel": 404,
    "trades_cancel_all": 202,  # nothing open: {"canceled": 0, "reconciling": 0}
    "dashboard": 200,
}
ROUTE_FUNCTIONS = [route.function for route in ROUTES]


def _event(function: str) -> dict[str, Any]:
    """The sample with a token for the demo user, who exists (the login sample is theirs)."""
    token = demo_access_token()
    return load_event(EVENTS / f"{function}.json", access_token=token)


def test_every_route_has_an_expected_sample_status() -> None:
    missing = sorted(set(ROUTE_FUNCTIONS) - set(EXPECTED_STATUS))
    assert not missing, f"add the expected status of events/<name>.json for {missing} here"


# Samples that call Binance (the key check), answered by the Binance fake.
NEEDS_BINANCE = {"api_keys_put"}


@pytest.mark.parametrize("function", ROUTE_FUNCTIONS)
def test_a_route_sample_answers_its_expected_status(
    function: str, request: pytest.FixtureRequest
) -> None:
    if function in NEEDS_BINANCE:
        request.getfixturevalue("binance_fake")  # knows the sample's key (Binance's example)
    event = _event(function)

    response = invoke(function, event)

    headers = {k.lower(): v for k, v in (response.get("headers") or {}).items()}
    reply = Reply(
        response["statusCode"],
        headers,
        response.get("body") or "",
        bool(response.get("isBase64Encoded")),
    )
    expected = EXPECTED_STATUS.get(function)
    if expected is not None and expected >= 400:
        assert_problem(reply, expected)
    else:
        assert reply.status == expected, reply.raw_body
        assert not reply.base64_encoded
    assert headers["x-request-id"] == event["requestContext"]["requestId"]


def test_the_sample_token_placeholder_is_replaced() -> None:
    event = _event("auth_me")

    assert TOKEN_PLACEHOLDER not in str(event)
    assert event["headers"]["Authorization"].startswith("Bearer ey")


def test_the_login_sample_logs_in_the_demo_user() -> None:
    response = invoke("auth_login", _event("auth_login"))

    assert response["statusCode"] == 200
    assert '"token_type":"bearer"' in response["body"]


def test_the_migrate_sample_reports_the_head_revision() -> None:
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()

    response = invoke("migrate", _event("migrate"))

    assert response["Data"] == {"Revision": head}
    assert response["PhysicalResourceId"]


def test_a_stack_deletion_leaves_the_schema_alone(monkeypatch: pytest.MonkeyPatch) -> None:
    from tradebot.db.migrate import current_revision

    from tests.conftest import reset_caches

    before = current_revision()
    event = {**_event("migrate"), "RequestType": "Delete"}
    # Deleting must not even need the database (it may already be going away).
    monkeypatch.setenv("DATABASE_URL", "postgresql://postgres@127.0.0.1:1/gone")
    reset_caches()

    response = invoke("migrate", event)

    assert response == {"PhysicalResourceId": "tradebot-database-migrations", "Data": {}}
    monkeypatch.undo()
    reset_caches()
    assert current_revision() == before


@pytest.mark.parametrize(
    "function",
    [
        w.function
        for w in WORKERS
        if w.function in ("order_executor", "price_updater", "reconciler")
    ],
)
def test_a_worker_sample_runs_to_a_result(function: str) -> None:
    # Their behaviour is tested with the trading code; here only that the sample is runnable.
    assert isinstance(invoke(function, _event(function)), dict)
