"""The in-process failure ledger, the login lockout's fallback while Redis is down: the same
rules as the Redis script, per execution environment."""

from __future__ import annotations

from tradebot.cache.lockout import FailureLedger, LockoutPolicy

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
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def fail(ledger: FailureLedger, times: int, subject: str = "pair") -> None:
    for _ in range(times):
        ledger.record({subject: POLICY.max_failures}, POLICY)


def test_the_limit_locks_the_subject_for_the_lockout() -> None:
    clock = Clock()
    ledger = FailureLedger(clock)

    fail(ledger, 2)
    assert ledger.locked_for(("pair",)) == 0
    fail(ledger, 1)

    assert ledger.locked_for(("pair",)) == 10
    assert ledger.locked_for(("other",)) == 0
    clock.now += 10
    assert ledger.locked_for(("pair",)) == 0


def test_failures_outside_the_window_start_a_new_count() -> None:
    clock = Clock()
    ledger = FailureLedger(clock)
    fail(ledger, 2)
    clock.now += 60

    fail(ledger, 2)

    assert ledger.locked_for(("pair",)) == 0


def test_each_lockout_doubles_the_last_up_to_the_cap() -> None:
    clock = Clock()
    ledger = FailureLedger(clock)
    lockouts = []
    for _ in range(4):
        fail(ledger, 3)
        lockouts.append(ledger.locked_for(("pair",)))
        clock.now += lockouts[-1]

    assert lockouts == [10, 20, 35, 35]
    clock.now += 3600  # forgotten: the next lockout is the first again
    fail(ledger, 3)
    assert ledger.locked_for(("pair",)) == 10


def test_the_longest_lock_of_the_subjects_counts() -> None:
    ledger = FailureLedger(Clock())
    fail(ledger, 3, "pair")
    fail(ledger, 3, "email")
    fail(ledger, 3, "email")

    assert ledger.locked_for(("pair", "email")) == 20


def test_clearing_forgets_failures_and_lockouts() -> None:
    ledger = FailureLedger(Clock())
    fail(ledger, 3)
    ledger.clear("pair")

    assert ledger.locked_for(("pair",)) == 0
    fail(ledger, 3)
    assert ledger.locked_for(("pair",)) == 10  # the first lockout again


def test_memory_is_bounded() -> None:
    clock = Clock()
    ledger = FailureLedger(clock, max_subjects=100)
    for n in range(1000):
        fail(ledger, 1, f"subject-{n}")

    assert len(ledger._entries) <= 100
    fail(ledger, 2, "subject-999")
    assert ledger.locked_for(("subject-999",)) == 10  # the newest are kept
