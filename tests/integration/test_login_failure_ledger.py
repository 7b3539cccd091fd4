"""Failed logins counted in the database while Redis is down: shared by every login environment,
and still holding once Redis is back (the HTTP behaviour is in
tests/security/test_login_brute_force.py)."""

from __future__ import annotations

from tradebot.auth.failure_ledger import DatabaseLedger
from tradebot.cache.lockout import LockoutPolicy
from tradebot.db.engine import unit_of_work

POLICY = LockoutPolicy(
    max_failures=3,
    email_max_failures=6,
    window_s=60,
    lockout_s=10,
    lockout_max_s=35,
    memory_s=3600,
)


class Clock:
    def __init__(self) -> None:
        self.now = 1_800_000_000.0

    def __call__(self) -> float:
        return self.now


def fail(clock: Clock, times: int, subject: str = "pair") -> None:
    # One transaction per failure, as one login each: what one environment counted, the next
    # one sees.
    for _ in range(times):
        with unit_of_work() as session:
            DatabaseLedger(session, clock).record({subject: POLICY.max_failures}, POLICY)


def locked_for(clock: Clock, *subjects: str) -> float:
    with unit_of_work() as session:
        return DatabaseLedger(session, clock).locked_for(subjects)


def test_failures_from_separate_logins_add_up_to_a_lock() -> None:
    clock = Clock()
    fail(clock, 2)
    assert locked_for(clock, "pair") == 0

    fail(clock, 1)

    assert locked_for(clock, "pair") == 10
    assert locked_for(clock, "other") == 0
    clock.now += 10
    assert locked_for(clock, "pair") == 0


def test_each_lockout_doubles_and_the_longest_lock_of_the_subjects_counts() -> None:
    clock = Clock()
    fail(clock, 3, "pair")
    fail(clock, 3, "email")
    fail(clock, 3, "email")

    assert locked_for(clock, "pair", "email") == 20


def test_clearing_forgets_failures_and_lockouts() -> None:
    clock = Clock()
    fail(clock, 3)
    with unit_of_work() as session:
        DatabaseLedger(session, clock).clear("pair")

    assert locked_for(clock, "pair") == 0
    fail(clock, 3)
    assert locked_for(clock, "pair") == 10  # the first lockout again


def test_rows_nobody_needs_any_more_are_removed() -> None:
    from sqlalchemy import func, select
    from tradebot.db.models import LoginFailures

    clock = Clock()
    for n in range(20):
        fail(clock, 1, f"subject-{n}")
    clock.now += 3600 + 60

    fail(clock, 1, "newest")

    with unit_of_work() as session:
        assert session.scalar(select(func.count()).select_from(LoginFailures)) == 1


def test_a_clock_between_microseconds_still_counts_every_failure() -> None:
    # The database keeps microseconds: a window that starts "now" must not look later than now.
    clock = Clock()
    clock.now += 0.0000007
    fail(clock, 3)

    assert locked_for(clock, "pair") == 10
