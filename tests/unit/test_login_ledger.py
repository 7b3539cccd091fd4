"""The lockout rule a fallback ledger applies while Redis is down: the same as the Redis script
(a count within the window, a lock at the limit, each lockout twice the last up to the cap)."""

from __future__ import annotations

from tradebot.cache.lockout import Failures, LockoutPolicy, count_failure

POLICY = LockoutPolicy(
    max_failures=3,
    email_max_failures=6,
    window_s=60,
    lockout_s=10,
    lockout_max_s=35,
    memory_s=3600,
)
NOW = 1000.0


def fail(failures: Failures, times: int, now: float = NOW) -> Failures:
    for _ in range(times):
        count_failure(failures, POLICY.max_failures, POLICY, now)
    return failures


def test_the_limit_locks_the_subject_for_the_lockout() -> None:
    failures = fail(Failures(), 2)
    assert failures.locked_until == 0.0

    fail(failures, 1)

    assert failures.locked_until == NOW + 10
    assert failures.count == 0  # the lock starts a new count


def test_failures_outside_the_window_start_a_new_count() -> None:
    failures = fail(Failures(), 2)

    fail(failures, 2, now=NOW + 60)

    assert failures.locked_until == 0.0
    assert failures.count == 2


def test_each_lockout_doubles_the_last_up_to_the_cap() -> None:
    failures, now, lockouts = Failures(), NOW, []
    for _ in range(4):
        fail(failures, 3, now)
        lockouts.append(failures.locked_until - now)
        now = failures.locked_until

    assert lockouts == [10, 20, 35, 35]
    now += 3600  # forgotten: the next lockout is the first again
    fail(failures, 3, now)
    assert failures.locked_until - now == 10
