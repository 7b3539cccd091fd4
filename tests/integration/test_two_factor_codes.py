"""Which codes are accepted: the ±1 step skew window and no code twice, on the service's own
clock; and two requests racing with one code (PostgreSQL), of which one passes."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import event
from tradebot.db.engine import get_engine, unit_of_work
from tradebot.twofactor import service, totp

from tests.support import FakeTime, Reply, call, register_and_login
from tests.trading_support import run_concurrently
from tests.two_factor_support import (
    TwoFactorUser,
    otp_required,
    start_enrolment,
    two_factor_user,
)


@pytest.fixture
def second() -> TwoFactorUser:
    return two_factor_user()


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


@pytest.mark.postgres  # concurrent transactions are what is raced
@pytest.mark.usefixtures("both_read_first")
def test_two_logins_with_the_same_code_at_once_let_one_in(second: TwoFactorUser) -> None:
    code = second.code()

    replies = race(lambda: second.login(code), lambda: second.login(code))

    assert sorted(r.status for r in replies) == [200, 401]
    otp_required(next(r for r in replies if r.status == 401))


@pytest.mark.postgres  # concurrent transactions are what is raced
@pytest.mark.usefixtures("both_read_first")
def test_one_recovery_code_used_twice_at_once_passes_one_step_up(
    second: TwoFactorUser,
) -> None:
    headers = {"X-OTP": second.recovery_codes[0]}

    def forget_key() -> Reply:
        return call("api_keys_delete", token=second.token, headers=headers)

    replies = race(forget_key, forget_key)

    assert sorted(r.status for r in replies) == [204, 401]
