"""TOTP two-factor authentication through the API: enrolment and its confirmation, login with
a code or a recovery code (each once), wrong codes as failed logins, and turning it off again.
Which codes are accepted when: test_two_factor_codes.py."""

from __future__ import annotations

import pytest
from sqlalchemy import select
from tradebot.crypto.envelope import SealBroken, unseal
from tradebot.db.engine import unit_of_work
from tradebot.db.models import RecoveryCode, TwoFactor
from tradebot.twofactor import recovery, totp

from tests.support import assert_problem, call, configure, register_and_login
from tests.two_factor_support import (
    OTP_REQUIRED,
    PASSWORD,
    TwoFactorUser,
    current_step,
    events_of,
    me,
    otp_required,
    start_enrolment,
    two_factor_user,
    with_two_factor,
)

User = tuple[str, str]


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


def test_the_secret_is_stored_sealed_to_its_user(account: User) -> None:
    secret = start_enrolment(account[1])

    with unit_of_work() as session:
        stored = session.scalars(select(TwoFactor.secret_encrypted)).one()
    assert totp.encode_secret(secret) not in stored
    opened = unseal(stored, {"user_id": account[0], "purpose": "totp"})
    assert opened.get_secret_value() == totp.encode_secret(secret)
    with pytest.raises(SealBroken):  # copied to another user's row, it opens for nobody
        unseal(stored, {"user_id": "someone-else", "purpose": "totp"})


def test_an_unconfirmed_enrolment_changes_nothing_at_login(account: User) -> None:
    start_enrolment(account[1])

    reply = call("auth_login", body={"email": "enrol@example.com", "password": PASSWORD})

    assert reply.status == 200, reply.raw_body


def test_confirming_with_the_current_code_turns_2fa_on_with_ten_recovery_codes(
    account: User,
) -> None:
    user_id, token = account
    secret = start_enrolment(token)

    reply = call("twofa_confirm", token=token, body={"otp": totp.code_at(secret, current_step())})

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

    reply = call(
        "twofa_confirm", token=token, body={"otp": totp.code_at(secret, current_step() + 5)}
    )

    problem = assert_problem(reply, 401)
    assert "code" in problem["detail"]
    assert me(token)["two_factor"] is False
    assert "2fa_enabled" not in dict(events_of(user_id))


def test_starting_again_before_confirming_replaces_the_secret(account: User) -> None:
    token = account[1]
    first = start_enrolment(token)
    second = start_enrolment(token)

    stale = call("twofa_confirm", token=token, body={"otp": totp.code_at(first, current_step())})
    fresh = call("twofa_confirm", token=token, body={"otp": totp.code_at(second, current_step())})

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
    step_up = {"X-OTP": other.recovery_codes[1]}
    otp_required(call("api_keys_delete", token=second.token, headers=step_up))
    assert other.login(other.recovery_codes[0]).status == 200  # not used up by the attempt
