"""The login lockout's Redis script: per (email, address) and per email, with a growing delay
capped at the maximum (the HTTP behaviour is in tests/security/test_login_brute_force.py)."""

from __future__ import annotations

import uuid

import pytest
from tradebot.auth.failure_ledger import DatabaseLedger
from tradebot.cache.lockout import (
    LockoutPolicy,
    check_login,
    clear_login_failures,
    record_login_failure,
)
from tradebot.db.engine import unit_of_work
from tradebot.errors import RateLimitedError

POLICY = LockoutPolicy(
    max_failures=2,
    email_max_failures=5,
    window_s=60,
    lockout_s=100,
    lockout_max_s=350,
    memory_s=3600,
)


@pytest.fixture
def email() -> str:
    return f"{uuid.uuid4()}@example.com"  # Redis is shared by the run's tests


def locked_for(email: str, address: str) -> int | None:
    try:
        with unit_of_work() as session:
            check_login(email, address, DatabaseLedger(session))
    except RateLimitedError as locked:
        return locked.retry_after_s
    return None


def fail(email: str, address: str, times: int) -> None:
    for _ in range(times):
        with unit_of_work() as session:
            record_login_failure(email, address, POLICY, DatabaseLedger(session))


def test_a_pair_locks_at_its_limit_and_the_owner_address_stays_open(email: str) -> None:
    fail(email, "attacker", 1)
    assert locked_for(email, "attacker") is None
    fail(email, "attacker", 1)

    assert 99 <= (locked_for(email, "attacker") or 0) <= 100
    assert locked_for(email, "owner") is None


def test_each_lockout_doubles_the_last_up_to_the_cap(email: str) -> None:
    waits = []
    for _ in range(4):
        fail(email, "attacker", 2)  # (recorded straight away: the script, not the check)
        waits.append(locked_for(email, "attacker"))

    assert waits == [100, 200, 350, 350]


def test_the_per_email_ceiling_locks_every_address(email: str) -> None:
    for n in range(5):
        fail(email, f"address-{n}", 1)

    assert locked_for(email, "owner") == 100


def test_success_clears_the_pair_but_not_the_email_count(email: str) -> None:
    fail(email, "owner", 1)
    with unit_of_work() as session:
        clear_login_failures(email, "owner", DatabaseLedger(session))
    fail(email, "owner", 1)
    assert locked_for(email, "owner") is None  # the pair's count started again

    for n in range(3):
        fail(email, f"address-{n}", 1)
    assert locked_for(email, "owner") == 100  # 5 failures of the email in all
