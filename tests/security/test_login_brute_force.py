"""Password guessing is slowed per (account, source address), per account across addresses and
per source address, without letting anyone lock an owner out from their own address; login
answers never tell whether an email has an account.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import pytest

from tests.support import (
    Reply,
    assert_problem,
    call,
    closed_port,
    configure,
    register_and_login,
)

PASSWORD = "correct horse battery staple"
WRONG = "wrong horse battery staple"
MAX_FAILURES = 3
EMAIL_MAX_FAILURES = 6
ATTACKER = "203.0.113.66"
OWNER = "198.51.100.1"


@pytest.fixture
def victim(monkeypatch: pytest.MonkeyPatch) -> str:
    """A registered account; 3 failures lock an (email, address) pair, 6 the email, for 60 s."""
    register_and_login("victim@example.com")
    configure(
        monkeypatch,
        login_max_failures=str(MAX_FAILURES),
        login_email_max_failures=str(EMAIL_MAX_FAILURES),
        login_failure_window_s="60",
        login_lockout_s="60",
    )
    return "victim@example.com"


def _login(email: str, password: str, source_ip: str = OWNER) -> Reply:
    return call("auth_login", body={"email": email, "password": password}, source_ip=source_ip)


def _guess(email: str, count: int, source_ip: str = ATTACKER) -> list[Reply]:
    return [_login(email, WRONG, source_ip=source_ip) for _ in range(count)]


def _guess_from_many_addresses(email: str, count: int) -> list[Reply]:
    return [_login(email, WRONG, source_ip=f"203.0.113.{n + 1}") for n in range(count)]


def _assert_locked(reply: Reply, at_most_s: int = 60) -> None:
    assert_problem(reply, 429)
    assert 0 < int(reply.headers["retry-after"]) <= at_most_s
    assert "access_token" not in reply.raw_body


def test_failures_from_one_address_lock_that_address_but_not_the_owner(victim: str) -> None:
    # Given as many wrong guesses as the limit allows, all from the attacker's address
    guesses = _guess(victim, MAX_FAILURES)

    # When the attacker tries again, even with the right password
    locked = _login(victim, PASSWORD, source_ip=ATTACKER)

    # Then the guesses were 401 and that address is now 429 with Retry-After...
    assert [g.status for g in guesses] == [401] * MAX_FAILURES
    _assert_locked(locked)
    # ...while the owner still logs in from their own address
    assert _login(victim, PASSWORD, source_ip=OWNER).status == 200


def test_failures_from_many_addresses_lock_the_account_at_its_ceiling(victim: str) -> None:
    # Given one wrong guess from each of as many addresses as the per-account ceiling
    guesses = _guess_from_many_addresses(victim, EMAIL_MAX_FAILURES)

    # When the owner logs in from their own address, with the right password
    locked = _login(victim, PASSWORD, source_ip=OWNER)

    # Then no single address was locked, but the account now is, from every address
    assert [g.status for g in guesses] == [401] * EMAIL_MAX_FAILURES
    _assert_locked(locked)
    # Other accounts are not slowed by it
    register_and_login("bystander@example.com")
    assert _login("bystander@example.com", PASSWORD, source_ip=OWNER).status == 200


def test_an_unknown_email_locks_exactly_like_a_known_one(victim: str) -> None:
    known = _guess(victim, MAX_FAILURES + 1)
    unknown = _guess("nobody@example.com", MAX_FAILURES + 1)

    assert [r.status for r in known] == [r.status for r in unknown] == [401] * 3 + [429]
    for mine, theirs in zip(known, unknown, strict=True):
        assert mine.body == theirs.body
        assert mine.headers.get("www-authenticate") == theirs.headers.get("www-authenticate")


def test_a_successful_login_starts_the_count_again(victim: str) -> None:
    _guess(victim, MAX_FAILURES - 1, source_ip=OWNER)
    assert _login(victim, PASSWORD).status == 200

    again = _guess(victim, MAX_FAILURES - 1, source_ip=OWNER)

    assert [r.status for r in again] == [401] * (MAX_FAILURES - 1)
    assert _login(victim, PASSWORD).status == 200


def test_the_lock_ends_after_its_time_however_often_the_attacker_knocks(
    victim: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    lockout_s = 2
    configure(monkeypatch, login_lockout_s=str(lockout_s))
    _guess(victim, MAX_FAILURES)
    started = time.monotonic()  # the lock starts with the last failure, a little earlier

    # Knocking during the lock is refused and does not extend it
    assert _login(victim, WRONG, source_ip=ATTACKER).status == 429
    while time.monotonic() - started < lockout_s - 0.5:
        assert _login(victim, WRONG, source_ip=ATTACKER).status == 429
        time.sleep(0.1)
    # (Redis expires a key up to a second late when it rounds; leave it that margin.)
    time.sleep(max(0.0, lockout_s + 1.1 - (time.monotonic() - started)))

    # Once the lock is over, that address may log in again
    assert _login(victim, PASSWORD, source_ip=ATTACKER).status == 200


def test_each_lockout_of_an_address_is_longer_than_the_last(
    victim: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    configure(monkeypatch, login_lockout_s="1", login_email_max_failures="1000")
    waits: list[int] = []
    for _ in range(3):
        _guess(victim, MAX_FAILURES)
        locked = _login(victim, WRONG, source_ip=ATTACKER)
        assert_problem(locked, 429)
        waits.append(int(locked.headers["retry-after"]))
        if len(waits) < 3:
            time.sleep(waits[-1] + 1.1)  # (Redis may expire a key up to a second late)

    assert waits == [1, 2, 4]


def test_with_redis_down_failures_are_still_bounded(
    victim: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given Redis unreachable (the rate limiter fails open, the lockout counts in the database)
    from tradebot.settings import get_settings

    redis_url = get_settings().redis_url
    configure(monkeypatch, redis_url=f"redis://127.0.0.1:{closed_port()}/0")

    # When an attacker guesses from one address, then from many
    one = _guess(victim, MAX_FAILURES + 1)
    owner = _login(victim, PASSWORD, source_ip=OWNER)
    many = _guess_from_many_addresses(victim, EMAIL_MAX_FAILURES)

    # Then that address is locked, the owner is not, and the per-account ceiling holds too
    assert [r.status for r in one] == [401] * MAX_FAILURES + [429]
    assert owner.status == 200
    # (the one address's failures count towards the ceiling: it is reached before the end)
    statuses = [r.status for r in many]
    assert statuses == [401] * (EMAIL_MAX_FAILURES - MAX_FAILURES) + [429] * MAX_FAILURES
    _assert_locked(_login(victim, PASSWORD, source_ip=OWNER))

    # And once Redis is back, the locks taken during the outage still hold (every login
    # environment reads the same database)
    configure(monkeypatch, redis_url=redis_url)
    _assert_locked(_login(victim, PASSWORD, source_ip=OWNER))
    _assert_locked(_login(victim, WRONG, source_ip=ATTACKER))


def test_one_address_is_slowed_across_accounts(monkeypatch: pytest.MonkeyPatch) -> None:
    # 3 per hour with a burst of 3: the fourth try is refused for the next ~20 minutes.
    configure(
        monkeypatch, rate_limits='{"read": 1000, "write": 1000, "auth": 3}', rate_window_s="3600"
    )
    emails = [f"target{n}@example.com" for n in range(4)]

    tries = [_login(email, WRONG, source_ip=ATTACKER) for email in emails]

    assert [t.status for t in tries] == [401, 401, 401, 429]
    assert int(tries[-1].headers["retry-after"]) > 0
    assert _login(emails[0], WRONG, source_ip="203.0.113.67").status == 401


def test_known_and_unknown_emails_cost_the_same_password_check(
    victim: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Each login verifies exactly one argon2id hash of the same cost, account or not...
    from tradebot.auth import service
    from tradebot.auth.passwords import verify_password

    checked: list[str] = []
    real: Callable[[str, str], bool] = verify_password

    def spy(password_hash: str, password: str) -> bool:
        checked.append(password_hash.split("$")[3])  # m=...,t=...,p=...
        return real(password_hash, password)

    monkeypatch.setattr(service, "verify_password", spy)
    configure(monkeypatch, login_max_failures="1000")
    _login(victim, WRONG)
    _login("nobody@example.com", WRONG)
    assert len(checked) == 2
    assert checked[0] == checked[1]

    # (That the answers then take as long is measured by `make bench`, not asserted here:
    # "login, unknown vs known email".)
