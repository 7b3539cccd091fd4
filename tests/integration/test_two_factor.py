"""TOTP two-factor authentication: enrolment and its confirmation, login with a code or a
recovery code, the skew window, no code accepted twice (also when two requests race), and
turning it off again."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import event, select
from tradebot.crypto.vault import get_vault
from tradebot.db.engine import get_engine, unit_of_work
from tradebot.db.models import RecoveryCode, SecurityEvent, TwoFactor
from tradebot.twofactor import recovery, service, totp

from tests.support import FakeTime, Reply, assert_problem, call, configure, register_and_login
from tests.trading_support import run_concurrently
from tests.two_factor_support import (
    PASSWORD,
    TwoFactorUser,
    start_enrolment,
    two_factor_user,
    with_two_factor,
)

OTP_REQUIRED = "urn:tradebot:problem:otp-required"
User = tuple[str, str]


def events_of(user_id: str) -> list[tuple[str, str | None]]:
    """(type, detail) of the user's security events, oldest first."""
    with unit_of_work() as session:
        rows = session.execute(
            select(SecurityEvent.type, SecurityEvent.detail)
            .where(SecurityEvent.user_id == user_id)
            .order_by(SecurityEvent.created_at, SecurityEvent.id)
        ).all()
    return [(row.type, row.detail) for row in rows]


def me(token: str) -> dict[str, Any]:
    reply = call("auth_me", token=token)
    assert reply.status == 200, reply.raw_body
    body: dict[str, Any] = reply.body
    return body


def otp_required(reply: Reply) -> dict[str, Any]:
    problem = assert_problem(reply, 401)
    assert problem["type"] == OTP_REQUIRED
    assert problem["title"] == "OTP required"
    return problem


def _now() -> int:
    """The current time step of the real clock (the API's)."""
    return totp.step_at(time.time())


@pytest.fixture
def account() -> User:
    """A registered user (a real password), 2FA off: (user id, token)."""
    return register_and_login("enrol@example.com")


@pytest.fixture
def second() -> TwoFactorUser:
    return two_factor_user()


# --- enrolment -------------------------------------------------------------------------------


def test_enrolment_shows_a_base32_secret_and_the_otpauth_uri_of_the_same_secret(
    account: User,
) -> None:
    reply = call("twofa_start", token=account[1])

    assert reply.status == 200, reply.raw_body
    secret = reply.body["secret"]
    assert len(totp.decode_secret(secret)) == 20
    assert reply.body["otpauth_uri"].startswith("otpauth://totp/Tradebot:enrol%40example.com?")
    assert f"secret={secret}" in reply.body["otpauth_uri"]
    assert "issuer=Tradebot" in reply.body["otpauth_uri"]
    assert me(account[1])["two_factor"] is False  # not on until confirmed


def test_the_secret_is_stored_encrypted(account: User) -> None:
    secret = start_enrolment(account[1])

    with unit_of_work() as session:
        stored = session.scalars(select(TwoFactor.secret_encrypted)).one()
    assert totp.encode_secret(secret) not in stored
    assert get_vault().decrypt(stored).get_secret_value() == totp.encode_secret(secret)


def test_an_unconfirmed_enrolment_changes_nothing_at_login(account: User) -> None:
    start_enrolment(account[1])

    reply = call("auth_login", body={"email": "enrol@example.com", "password": PASSWORD})

    assert reply.status == 200, reply.raw_body


def test_confirming_with_the_current_code_turns_2fa_on_with_ten_recovery_codes(
    account: User,
) -> None:
    user_id, token = account
    secret = start_enrolment(token)

    reply = call("twofa_confirm", token=token, body={"otp": totp.code_at(secret, _now())})

    assert reply.status == 200, reply.raw_body
    codes = reply.body["recovery_codes"]
    assert len(codes) == len(set(codes)) == 10
    assert all(recovery.normalized(code) for code in codes)
    assert me(token)["two_factor"] is True
    assert events_of(user_id)[-1] == ("2fa_enabled", None)
    with unit_of_work() as session:  # stored as hashes only
        hashes = set(session.scalars(select(RecoveryCode.code_hash)))
    assert hashes == {recovery.code_hash(user_id, code) for code in codes}


def test_a_wrong_code_does_not_confirm(account: User) -> None:
    user_id, token = account
    secret = start_enrolment(token)

    reply = call("twofa_confirm", token=token, body={"otp": totp.code_at(secret, _now() + 5)})

    problem = assert_problem(reply, 401)
    assert "code" in problem["detail"]
    assert me(token)["two_factor"] is False
    assert "2fa_enabled" not in dict(events_of(user_id))


def test_starting_again_before_confirming_replaces_the_secret(account: User) -> None:
    token = account[1]
    first = start_enrolment(token)
    second = start_enrolment(token)

    stale = call("twofa_confirm", token=token, body={"otp": totp.code_at(first, _now())})
    fresh = call("twofa_confirm", token=token, body={"otp": totp.code_at(second, _now())})

    assert first != second
    assert_problem(stale, 401)
    assert fresh.status == 200, fresh.raw_body


def test_there_is_nothing_to_confirm_without_an_enrolment(account: User) -> None:
    reply = call("twofa_confirm", token=account[1], body={"otp": "123456"})

    assert_problem(reply, 409)


def test_with_2fa_on_enrolment_and_confirmation_are_409(second: TwoFactorUser) -> None:
    start = call("twofa_start", token=second.token)
    confirm = call("twofa_confirm", token=second.token, body={"otp": second.code()})

    assert_problem(start, 409)
    assert_problem(confirm, 409)
    assert second.login(second.code()).status == 200  # the secret was not replaced


# --- login -----------------------------------------------------------------------------------


def test_with_2fa_on_the_right_password_alone_is_401_otp_required(
    second: TwoFactorUser,
) -> None:
    problem = otp_required(second.login())

    assert "otp" in problem["detail"]
    assert "login_failed" not in dict(events_of(second.user_id))  # a step, not a guess


def test_a_wrong_password_answers_the_same_whether_or_not_2fa_is_on(
    second: TwoFactorUser,
) -> None:
    register_and_login("plain@example.com")

    with_2fa = second.login(password="not the password at all")
    without = call("auth_login", body={"email": "plain@example.com", "password": "not it 123"})

    assert assert_problem(with_2fa, 401) == assert_problem(without, 401)
    assert with_2fa.body["type"] != OTP_REQUIRED


def test_the_current_code_logs_in_once(second: TwoFactorUser) -> None:
    first = second.login(second.code())
    again = second.login(second.code())

    assert first.status == 200, first.raw_body
    assert "access_token" in first.body
    otp_required(again)
    assert events_of(second.user_id)[-2:] == [
        ("login", None),
        ("login_failed", "wrong one-time code"),
    ]


def test_a_code_older_than_the_last_accepted_one_is_refused(second: TwoFactorUser) -> None:
    assert second.login(second.code(1)).status == 200

    otp_required(second.login(second.code(0)))


def test_a_recovery_code_logs_in_once_in_any_case_or_spacing(second: TwoFactorUser) -> None:
    code = second.recovery_codes[3]

    first = second.login(code.lower().replace("-", " "))
    again = second.login(code)

    assert first.status == 200, first.raw_body
    otp_required(again)
    assert ("login", "with a recovery code") in events_of(second.user_id)
    # The others still work
    assert second.login(second.recovery_codes[4]).status == 200


def test_wrong_codes_count_as_failed_logins_until_the_login_is_locked(
    second: TwoFactorUser, monkeypatch: pytest.MonkeyPatch
) -> None:
    configure(monkeypatch, login_max_failures="3")

    for far_off in (9, 10, 11):  # codes of steps well outside the window: wrong
        otp_required(second.login(second.code(far_off)))
    locked = second.login(second.code())

    assert_problem(locked, 429)
    assert int(locked.headers["retry-after"]) > 0
    failures = [e for e in events_of(second.user_id) if e[0] == "login_failed"]
    assert failures == [("login_failed", "wrong one-time code")] * 3


# --- the skew window and replays, on the service's own clock --------------------------------


@pytest.fixture
def confirmed_at_step() -> tuple[TwoFactorUser, int]:
    """A user whose enrolment was confirmed at step 60_000_000 (a fixed clock)."""
    user_id, token = register_and_login("skew@example.com")
    secret = start_enrolment(token)
    step = 60_000_000
    with unit_of_work() as session:
        service.confirm_enrolment(
            session, user_id, totp.code_at(secret, step), clock=FakeTime(step * 30 + 5)
        )
    return TwoFactorUser(user_id, token, "skew@example.com", secret, [], step), step


def accept(user: TwoFactorUser, code_step: int, clock_step: int) -> str | None:
    clock = FakeTime(clock_step * totp.STEP_S + 15)
    with unit_of_work() as session:
        return service.accept_code(
            session, user.user_id, user.code(code_step - user.base_step), clock
        )


def test_a_code_one_step_behind_or_ahead_of_the_clock_is_accepted(
    confirmed_at_step: tuple[TwoFactorUser, int],
) -> None:
    user, step = confirmed_at_step

    assert accept(user, step + 1, clock_step=step + 2) == "totp"  # the phone is 30 s slow
    assert accept(user, step + 6, clock_step=step + 5) == "totp"  # the phone is 30 s fast


@pytest.mark.parametrize("offset", [-2, 2])
def test_a_code_two_steps_from_the_clock_is_refused(
    confirmed_at_step: tuple[TwoFactorUser, int], offset: int
) -> None:
    user, step = confirmed_at_step

    assert accept(user, step + 10 + offset, clock_step=step + 10) is None
    assert accept(user, step + 10, clock_step=step + 10) == "totp"


def test_no_code_of_the_accepted_step_or_before_is_accepted_again(
    confirmed_at_step: tuple[TwoFactorUser, int],
) -> None:
    user, step = confirmed_at_step

    assert accept(user, step, clock_step=step) is None  # the confirmation's own code
    assert accept(user, step + 1, clock_step=step + 1) == "totp"
    assert accept(user, step + 1, clock_step=step + 2) is None  # same code, a step later
    assert accept(user, step, clock_step=step + 1) is None  # an older one still in the window
    assert accept(user, step + 2, clock_step=step + 1) == "totp"


# --- two requests with the same code at once -------------------------------------------------


@pytest.fixture
def both_read_first() -> Iterator[None]:
    """Neither request writes its code as used before both have read the user's 2FA rows.

    The second UPDATE then waits for the first one's row lock (PostgreSQL); a read-then-write
    check would let both through. SQLite runs every transaction alone (BEGIN IMMEDIATE): no race.
    """
    if get_engine().dialect.name != "postgresql":
        pytest.skip("needs PostgreSQL: concurrent transactions are what is raced")
    barrier = threading.Barrier(2, timeout=5)

    def before(_conn: Any, _cursor: Any, sql: str, *_args: Any) -> None:
        racing = threading.current_thread() is not threading.main_thread()
        if racing and sql.lstrip().upper().startswith(("UPDATE TWO_FACTOR", "UPDATE RECOVERY")):
            barrier.wait()

    engine = get_engine()
    event.listen(engine, "before_cursor_execute", before)
    try:
        yield
    finally:
        event.remove(engine, "before_cursor_execute", before)


def race(*calls: Any) -> list[Reply]:
    replies: list[Reply] = []

    def run(call_api: Any) -> Any:
        def go() -> None:
            asyncio.set_event_loop(asyncio.new_event_loop())  # Mangum runs on the thread's loop
            replies.append(call_api())

        return go

    assert run_concurrently(*[run(c) for c in calls]) == [None] * len(calls)
    return replies


@pytest.mark.usefixtures("both_read_first")
def test_two_logins_with_the_same_code_at_once_let_one_in(second: TwoFactorUser) -> None:
    code = second.code()

    replies = race(lambda: second.login(code), lambda: second.login(code))

    assert sorted(r.status for r in replies) == [200, 401]
    otp_required(next(r for r in replies if r.status == 401))


@pytest.mark.usefixtures("both_read_first")
def test_one_recovery_code_used_twice_at_once_passes_one_step_up(
    second: TwoFactorUser,
) -> None:
    headers = {"X-OTP": second.recovery_codes[0]}

    def forget_key() -> Reply:
        return call("api_keys_delete", token=second.token, headers=headers)

    replies = race(forget_key, forget_key)

    assert sorted(r.status for r in replies) == [204, 401]


# --- turning it off --------------------------------------------------------------------------


def test_turning_2fa_off_needs_the_password_and_a_code(second: TwoFactorUser) -> None:
    token = second.token

    no_code = call("twofa_disable", token=token, body={"password": PASSWORD})
    wrong_password = call(
        "twofa_disable", token=token, body={"password": "wrong"}, headers={"X-OTP": second.code()}
    )
    done = call(
        "twofa_disable", token=token, body={"password": PASSWORD}, headers={"X-OTP": second.code()}
    )

    otp_required(no_code)
    assert assert_problem(wrong_password, 401)["type"] != OTP_REQUIRED
    assert done.status == 204, done.raw_body
    assert me(token)["two_factor"] is False
    assert events_of(second.user_id)[-1] == ("2fa_disabled", None)
    assert second.login().status == 200  # the password alone again
    with unit_of_work() as session:
        assert session.scalars(select(RecoveryCode)).all() == []
        assert session.scalars(select(TwoFactor)).all() == []


def test_after_turning_it_off_it_can_be_turned_on_again_with_a_new_secret(
    second: TwoFactorUser,
) -> None:
    headers = {"X-OTP": second.recovery_codes[0]}
    body = {"password": PASSWORD}
    assert call("twofa_disable", token=second.token, body=body, headers=headers).status == 204

    again = with_two_factor(second.user_id, second.token, second.email)

    assert again.secret != second.secret
    assert set(again.recovery_codes).isdisjoint(second.recovery_codes)
    otp_required(again.login(second.recovery_codes[1]))  # the old codes are gone


def test_turning_off_2fa_that_is_off_needs_the_password_and_records_nothing(
    account: User,
) -> None:
    user_id, token = account

    wrong = call("twofa_disable", token=token, body={"password": "wrong"})
    done = call("twofa_disable", token=token, body={"password": PASSWORD})

    assert_problem(wrong, 401)
    assert done.status == 204
    assert "2fa_disabled" not in dict(events_of(user_id))


def test_another_users_codes_are_not_mine(second: TwoFactorUser) -> None:
    other = two_factor_user("other@example.com")

    otp_required(second.login(other.recovery_codes[0]))
    otp_required(second.login(other.code()))
    forget_key = {"token": second.token, "headers": {"X-OTP": other.recovery_codes[1]}}
    otp_required(call("api_keys_delete", **forget_key))
    assert other.login(other.recovery_codes[0]).status == 200  # not used up by the attempt
