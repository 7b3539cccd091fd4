"""Password guessing is slowed per account and per source address, and login answers never
tell whether an email has an account.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable

import pytest

from tests.support import Reply, assert_problem, call, configure, register_and_login

PASSWORD = "correct horse battery staple"
WRONG = "wrong horse battery staple"
MAX_FAILURES = 3


@pytest.fixture
def victim(monkeypatch: pytest.MonkeyPatch) -> str:
    """A registered account, with the per-account limit at 3 failures per minute."""
    register_and_login("victim@example.com")
    configure(monkeypatch, login_max_failures=str(MAX_FAILURES), login_failure_window_s="60")
    return "victim@example.com"


def _login(email: str, password: str, source_ip: str = "198.51.100.1") -> Reply:
    return call("auth_login", body={"email": email, "password": password}, source_ip=source_ip)


def _guess_from_many_addresses(email: str, count: int) -> list[Reply]:
    return [_login(email, WRONG, source_ip=f"203.0.113.{n + 1}") for n in range(count)]


def test_failed_logins_lock_the_account_from_every_address(victim: str) -> None:
    # Given as many wrong guesses as the limit allows, each from another address
    guesses = _guess_from_many_addresses(victim, MAX_FAILURES)

    # When one more login arrives, from yet another address, even with the right password
    locked = _login(victim, PASSWORD, source_ip="192.0.2.200")

    # Then the guesses were 401 and the account is now 429 with Retry-After
    assert [g.status for g in guesses] == [401] * MAX_FAILURES
    assert_problem(locked, 429)
    assert 0 < int(locked.headers["retry-after"]) <= 60
    assert "access_token" not in locked.raw_body
    # Other accounts are not slowed by it
    register_and_login("bystander@example.com")
    assert _login("bystander@example.com", PASSWORD, source_ip="192.0.2.200").status == 200


def test_an_unknown_email_locks_exactly_like_a_known_one(victim: str) -> None:
    known = _guess_from_many_addresses(victim, MAX_FAILURES + 1)
    unknown = _guess_from_many_addresses("nobody@example.com", MAX_FAILURES + 1)

    assert [r.status for r in known] == [r.status for r in unknown] == [401] * 3 + [429]
    for mine, theirs in zip(known, unknown, strict=True):
        assert mine.body == theirs.body
        assert mine.headers.get("www-authenticate") == theirs.headers.get("www-authenticate")


def test_a_successful_login_starts_the_count_again(victim: str) -> None:
    _guess_from_many_addresses(victim, MAX_FAILURES - 1)
    assert _login(victim, PASSWORD).status == 200

    again = _guess_from_many_addresses(victim, MAX_FAILURES - 1)

    assert [r.status for r in again] == [401] * (MAX_FAILURES - 1)
    assert _login(victim, PASSWORD).status == 200


def test_the_lock_ends_with_its_window_however_often_the_attacker_knocks(
    victim: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    window_s = 2
    configure(monkeypatch, login_failure_window_s=str(window_s))
    started = time.monotonic()  # the window starts at the first failure, a little later
    _guess_from_many_addresses(victim, MAX_FAILURES)

    # Knocking during the lock is refused and does not extend it
    assert _login(victim, WRONG).status == 429
    while time.monotonic() - started < window_s - 0.5:
        assert _login(victim, WRONG).status == 429
        time.sleep(0.1)
    # (Redis expires a key up to a second late when it rounds; leave it that margin.)
    time.sleep(max(0.0, window_s + 1.1 - (time.monotonic() - started)))

    # The owner gets in once the window that began with the first failure is over
    assert _login(victim, PASSWORD).status == 200


def test_one_address_is_slowed_across_accounts(monkeypatch: pytest.MonkeyPatch) -> None:
    # A fixed window: a long one, so the four tries (a second of argon2id) do not straddle two.
    configure(
        monkeypatch, rate_limits='{"read": 1000, "write": 1000, "auth": 3}', rate_window_s="3600"
    )
    emails = [f"target{n}@example.com" for n in range(4)]

    tries = [_login(email, WRONG, source_ip="203.0.113.66") for email in emails]

    assert [t.status for t in tries] == [401, 401, 401, 429]
    assert int(tries[-1].headers["retry-after"]) > 0
    assert _login(emails[0], WRONG, source_ip="203.0.113.67").status == 401


def test_known_and_unknown_emails_cost_the_same_password_check(
    victim: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Each login verifies exactly one argon2id hash of the same cost, account or not...
    from tradebot.auth import service

    checked: list[str] = []
    real: Callable[[str, str], bool] = service.verify_password

    def spy(password_hash: str, password: str) -> bool:
        checked.append(password_hash.split("$")[3])  # m=...,t=...,p=...
        return real(password_hash, password)

    monkeypatch.setattr(service, "verify_password", spy)
    configure(monkeypatch, login_max_failures="1000")
    _login(victim, WRONG)
    _login("nobody@example.com", WRONG)
    assert len(checked) == 2
    assert checked[0] == checked[1]

    # ...so the answers take about as long (medians, loosely: this machine is shared)
    def median_s(email: str) -> float:
        times = []
        for _ in range(5):
            started = time.perf_counter()
            _login(email, WRONG)
            times.append(time.perf_counter() - started)
        return statistics.median(times)

    known, unknown = median_s(victim), median_s("nobody@example.com")
    assert max(known, unknown) < 3 * min(known, unknown), (known, unknown)
