"""Step-up (X-OTP): with 2FA on, each call the route table marks `step_up` needs a fresh one-time
code, and a wrong one is a failed login; with 2FA off nothing changes.

Generated from the route table: a route marked `step_up` without an entry in CALLS fails the
guard below, which says what to add.
"""

from __future__ import annotations

from typing import Any

import pytest
from tradebot.http.function import RouteFunction
from tradebot.http.routes import ROUTES, Route

from devstack.functions import load_function
from tests.support import Reply, assert_problem, call, configure, register_and_login
from tests.trading_support import API_KEY, API_SECRET
from tests.two_factor_support import (
    OTP_REQUIRED,
    PASSWORD,
    TwoFactorUser,
    events_of,
    otp_required,
    two_factor_user,
)

STEP_UP_ROUTES = [r for r in ROUTES if r.step_up]
# How each guarded route is called so that it succeeds once the step-up is passed.
CALLS: dict[str, dict[str, Any]] = {
    "api_keys_put": {"body": {"api_key": API_KEY, "api_secret": API_SECRET, "testnet": True}},
    "api_keys_delete": {},
    "limits_put": {"body": {"max_open_orders": 50, "password": PASSWORD}},  # raising one
    "twofa_disable": {"body": {"password": PASSWORD}},
    "password_change": {
        "body": {"current_password": PASSWORD, "new_password": "a different passphrase 7"}
    },
    "account_delete": {"body": {"password": PASSWORD}},
}
# Routes that ask the exchange about what they are given.
NEEDS_BINANCE = {"api_keys_put"}


@pytest.fixture
def second() -> TwoFactorUser:
    return two_factor_user()


def guarded(route: Route, token: str, otp: str | None = None) -> Reply:
    headers = {"X-OTP": otp} if otp is not None else None
    return call(route.function, token=token, headers=headers, **CALLS[route.function])


def test_every_step_up_route_has_a_call_that_succeeds_past_the_step_up() -> None:
    assert {r.function for r in STEP_UP_ROUTES} == CALLS.keys()
    assert {
        "api_keys_put", "api_keys_delete", "limits_put", "twofa_disable", "password_change",
        "account_delete",
    } <= CALLS.keys()  # fmt: skip


@pytest.mark.parametrize("route", STEP_UP_ROUTES, ids=[r.function for r in STEP_UP_ROUTES])
def test_each_step_up_route_documents_the_x_otp_header_and_the_otp_required_401(
    route: Route,
) -> None:
    module = load_function(route.function)
    assert isinstance(module.route, RouteFunction)
    operation = module.route.app.openapi()["paths"][route.path][route.method.lower()]

    headers = {p["name"]: p for p in operation["parameters"] if p["in"] == "header"}
    assert headers["X-OTP"]["required"] is False
    assert "urn:tradebot:problem:otp-required" in operation["responses"]["401"]["description"]


@pytest.mark.parametrize("route", STEP_UP_ROUTES, ids=[r.function for r in STEP_UP_ROUTES])
def test_with_2fa_on_each_step_up_route_needs_a_fresh_code(
    route: Route, second: TwoFactorUser, request: pytest.FixtureRequest
) -> None:
    if route.function in NEEDS_BINANCE:
        request.getfixturevalue("binance_fake")

    missing = guarded(route, second.token)
    wrong = guarded(route, second.token, second.code(7))
    recorded = events_of(second.user_id)  # (before a deletion erases them)
    passed = guarded(route, second.token, second.code())

    otp_required(missing)
    otp_required(wrong)
    assert passed.status == route.status_code, passed.raw_body
    assert ("login_failed", "step-up: wrong one-time code") in recorded


@pytest.mark.parametrize(
    "function", sorted(CALLS.keys() - {"twofa_disable"}), ids=lambda function: function
)
def test_with_2fa_off_no_code_is_asked_for(function: str, request: pytest.FixtureRequest) -> None:
    if function in NEEDS_BINANCE:
        request.getfixturevalue("binance_fake")
    route = next(r for r in ROUTES if r.function == function)
    _, token = register_and_login("no2fa@example.com")

    reply = guarded(route, token)

    assert reply.status == route.status_code, reply.raw_body


def test_a_code_used_at_a_step_up_is_not_accepted_again_anywhere(second: TwoFactorUser) -> None:
    step_up = {"X-OTP": second.code()}
    assert call("api_keys_delete", token=second.token, headers=step_up).status == 204

    otp_required(call("api_keys_delete", token=second.token, headers=step_up))
    otp_required(second.login(second.code()))
    assert second.login(second.code(1)).status == 200


def test_a_recovery_code_passes_one_step_up(second: TwoFactorUser) -> None:
    step_up = {"X-OTP": second.recovery_codes[0]}

    assert call("api_keys_delete", token=second.token, headers=step_up).status == 204
    otp_required(call("api_keys_delete", token=second.token, headers=step_up))


def test_tightening_limits_and_pausing_need_no_code(second: TwoFactorUser) -> None:
    lower = call("limits_put", token=second.token, body={"max_open_orders": 5})
    pause = call("limits_put", token=second.token, body={"trading_paused": True})

    assert lower.status == 200, lower.raw_body
    assert pause.status == 200, pause.raw_body


def test_unpausing_needs_the_password_and_then_the_code(second: TwoFactorUser) -> None:
    assert call("limits_put", token=second.token, body={"trading_paused": True}).status == 200
    unpause = {"trading_paused": False}

    no_password = call("limits_put", token=second.token, body=unpause)
    no_code = call("limits_put", token=second.token, body={**unpause, "password": PASSWORD})
    both = call(
        "limits_put",
        token=second.token,
        body={**unpause, "password": PASSWORD},
        headers={"X-OTP": second.code()},
    )

    assert assert_problem(no_password, 401)["type"] != OTP_REQUIRED
    otp_required(no_code)
    assert both.status == 200, both.raw_body
    assert both.body["trading_paused"] is False


def test_a_wrong_password_is_refused_before_the_code_is_used(second: TwoFactorUser) -> None:
    body = {"max_open_orders": 50, "password": "not my password"}
    headers = {"X-OTP": second.code()}

    wrong = call("limits_put", token=second.token, body=body, headers=headers)

    assert assert_problem(wrong, 401)["detail"] == "The password is wrong"
    assert ("login_failed", "step-up: wrong password") in events_of(second.user_id)
    assert second.login(second.code()).status == 200  # the code was not used up


def test_wrong_step_up_codes_lock_out_the_step_up_and_the_login_alike(
    second: TwoFactorUser, monkeypatch: pytest.MonkeyPatch
) -> None:
    configure(monkeypatch, login_max_failures="2")
    for far_off in (7, 8):
        otp_required(
            call("api_keys_delete", token=second.token, headers={"X-OTP": second.code(far_off)})
        )

    step_up = call("api_keys_delete", token=second.token, headers={"X-OTP": second.code()})
    login = second.login(second.code())

    assert_problem(step_up, 429)
    assert_problem(login, 429)


def test_the_x_otp_header_is_bounded_and_never_echoed(second: TwoFactorUser) -> None:
    long_code = "A" * 33

    reply = call("api_keys_delete", token=second.token, headers={"X-OTP": long_code})

    problem = assert_problem(reply, 422)
    assert problem["errors"][0]["field"] == "X-OTP"
    assert long_code not in reply.raw_body
