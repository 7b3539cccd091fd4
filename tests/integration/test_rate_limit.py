"""The per-user limiter (GCRA in one Redis script): a burst of `limit`, then one request every
`window / limit`, with a Retry-After that says exactly when the next one is allowed."""

from __future__ import annotations

import time
import uuid

import pytest
from tradebot.cache.ratelimit import check_rate
from tradebot.errors import RateLimitedError


class Clock:
    def __init__(self) -> None:
        self.now = 1_800_000_000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def caller() -> str:
    return f"user:{uuid.uuid4()}"  # Redis is shared by the run's tests


def refused_for(caller: str, clock: Clock, limit: int = 3, window_s: int = 60) -> int | None:
    """Retry-After of one request, or None when it is allowed."""
    try:
        check_rate("write", caller, limit, window_s, clock=clock)
    except RateLimitedError as refused:
        return refused.retry_after_s
    return None


def test_an_idle_caller_gets_a_burst_of_the_limit_then_is_paced(caller: str) -> None:
    clock = Clock()  # 3 per minute: one every 20 s, a burst of 3

    burst = [refused_for(caller, clock) for _ in range(4)]

    assert burst == [None, None, None, 20]
    clock.now += 5
    assert refused_for(caller, clock) == 15  # the exact wait, not the end of a window
    clock.now += 15
    assert refused_for(caller, clock) is None  # one more, 20 s after the burst
    assert refused_for(caller, clock) == 20


def test_refused_requests_are_not_counted(caller: str) -> None:
    clock = Clock()
    for _ in range(3):
        refused_for(caller, clock)

    knocks = [refused_for(caller, clock) for _ in range(10)]
    clock.now += 20

    assert knocks == [20] * 10
    assert refused_for(caller, clock) is None


def test_no_double_burst_across_a_window_edge(caller: str) -> None:
    # A fixed window allowed 2 x limit around its edge; GCRA allows the burst once.
    clock = Clock()
    clock.now = 1_800_000_059.9  # just before a minute boundary
    first = [refused_for(caller, clock) for _ in range(3)]
    clock.now += 0.2  # just after it

    assert first == [None] * 3
    assert refused_for(caller, clock) == 20


def test_the_burst_comes_back_after_idling(caller: str) -> None:
    clock = Clock()
    for _ in range(3):
        refused_for(caller, clock)
    clock.now += 60  # a whole window idle: the full burst again, no more

    assert [refused_for(caller, clock) for _ in range(4)] == [None, None, None, 20]


def test_sub_second_waits_round_up_to_one_second(caller: str) -> None:
    clock = Clock()  # 10 per second: one every 100 ms
    allowed = [refused_for(caller, clock, limit=10, window_s=1) for _ in range(10)]

    assert allowed == [None] * 10
    assert refused_for(caller, clock, limit=10, window_s=1) == 1
    clock.now += 0.1
    assert refused_for(caller, clock, limit=10, window_s=1) is None


def test_callers_and_buckets_have_their_own_budgets(caller: str) -> None:
    clock = Clock()
    for _ in range(3):
        refused_for(caller, clock)

    assert refused_for(f"{caller}-other", clock) is None
    check_rate("read", caller, 3, 60, clock=clock)  # another bucket, not refused


def test_with_real_time_the_limiter_paces_within_a_second(caller: str) -> None:
    # 5 per second: a burst of 5, then one every 200 ms
    for _ in range(5):
        check_rate("write", caller, 5, 1, clock=time.time)
    with pytest.raises(RateLimitedError):
        check_rate("write", caller, 5, 1)
    time.sleep(0.25)
    check_rate("write", caller, 5, 1)
