"""The Binance request budget on its own: slowing down, refusing, backing off (in-memory Redis)."""

from __future__ import annotations

from collections.abc import Callable

import fakeredis
import pytest
from tradebot.errors import ExchangeRateLimited
from tradebot.exchange.weight import MIN_BAN_S, RequestBudget, account_of, retry_after_of

from tests.support import FakeTime

MINUTE_START = 1_700_000_040.0  # a whole minute (divisible by 60)
ACCOUNT = account_of("some-api-key")


@pytest.fixture
def clock() -> FakeTime:
    return FakeTime(MINUTE_START + 50)


@pytest.fixture
def server() -> fakeredis.FakeServer:
    return fakeredis.FakeServer()


def budget_on(server: fakeredis.FakeServer, clock: FakeTime, **limits: float) -> RequestBudget:
    redis = fakeredis.FakeRedis(server=server, decode_responses=True)
    factory: Callable[[], fakeredis.FakeRedis] = lambda: redis  # noqa: E731
    return RequestBudget(redis=factory, clock=clock, sleep=clock.sleep, **limits)  # type: ignore[arg-type]


def test_below_the_soft_limit_a_call_goes_at_once(
    server: fakeredis.FakeServer, clock: FakeTime
) -> None:
    budget = budget_on(server, clock, weight_limit=100, soft_ratio=0.8)
    budget.record({"X-MBX-USED-WEIGHT-1M": "79"})

    budget.before_request()

    assert clock.sleeps == []


def test_past_the_soft_limit_a_call_waits_for_the_next_minute(
    server: fakeredis.FakeServer, clock: FakeTime
) -> None:
    budget = budget_on(server, clock, weight_limit=100, soft_ratio=0.8, max_wait_s=15)
    budget.record({"X-MBX-USED-WEIGHT-1M": "80"})

    budget.before_request()

    assert clock.sleeps == [pytest.approx(10.5)]  # to 60 s past MINUTE_START, plus a margin


def test_a_wait_longer_than_the_callers_max_is_refused_with_retry_after(
    server: fakeredis.FakeServer, clock: FakeTime
) -> None:
    budget = budget_on(server, clock, weight_limit=100, max_wait_s=5)
    budget.record({"X-MBX-USED-WEIGHT-1M": "95"})

    with pytest.raises(ExchangeRateLimited) as caught:
        budget.before_request()

    assert caught.value.retry_after_s == pytest.approx(10.5)
    assert clock.sleeps == []


def test_the_highest_used_weight_of_the_window_wins_over_a_late_lower_answer(
    server: fakeredis.FakeServer, clock: FakeTime
) -> None:
    budget = budget_on(server, clock)
    budget.record({"x-mbx-used-weight-1m": "500"})
    budget.record({"x-mbx-used-weight-1m": "120"})  # an answer that was slower to arrive

    assert budget.used("used-weight", "1m") == 500
    clock.now += 60
    assert budget.used("used-weight", "1m") is None


def test_a_429_makes_every_budget_on_the_same_redis_refuse_until_retry_after(
    server: fakeredis.FakeServer, clock: FakeTime
) -> None:
    one, other = budget_on(server, clock), budget_on(server, clock)

    one.observe({"Retry-After": "7"}, status=429, code=-1003)

    with pytest.raises(ExchangeRateLimited) as caught:
        other.before_request()
    assert caught.value.retry_after_s == pytest.approx(7)
    assert other.backoff_remaining() == pytest.approx(7)
    clock.now += 7
    other.before_request()
    assert other.backoff_remaining() is None


def test_a_shorter_back_off_never_shortens_a_ban(
    server: fakeredis.FakeServer, clock: FakeTime
) -> None:
    budget = budget_on(server, clock)

    budget.observe({"Retry-After": "300"}, status=418, code=-1003)
    budget.observe({"Retry-After": "2"}, status=429, code=-1003)

    assert budget.backoff_remaining() == pytest.approx(300)


def test_a_418_without_retry_after_is_binances_shortest_ban(
    server: fakeredis.FakeServer, clock: FakeTime
) -> None:
    budget = budget_on(server, clock)

    budget.observe({}, status=418, code=-1003)

    assert budget.backoff_remaining() == pytest.approx(MIN_BAN_S)


def test_too_many_orders_backs_off_only_that_accounts_placements(
    server: fakeredis.FakeServer, clock: FakeTime
) -> None:
    budget = budget_on(server, clock)

    budget.observe({"Retry-After": "5"}, ACCOUNT, status=429, code=-1015)

    budget.before_request(ACCOUNT)  # reads still go
    budget.before_request(account_of("another-key"), placing=True)
    with pytest.raises(ExchangeRateLimited):
        budget.before_request(ACCOUNT, placing=True)


def test_order_counts_slow_down_only_that_accounts_placements(
    server: fakeredis.FakeServer, clock: FakeTime
) -> None:
    budget = budget_on(server, clock, order_limit_10s=50, max_wait_s=10)
    clock.now = MINUTE_START + 8  # 2 s before the 10-second window ends
    budget.record({"X-MBX-ORDER-COUNT-10S": "45", "X-MBX-ORDER-COUNT-1D": "45"}, ACCOUNT)

    budget.before_request(ACCOUNT)
    assert clock.sleeps == []
    budget.before_request(ACCOUNT, placing=True)
    assert clock.sleeps == [pytest.approx(2.5)]


def test_retry_after_is_read_as_seconds_and_ignored_when_garbled() -> None:
    assert retry_after_of({"Retry-After": "12"}) == 12.0
    assert retry_after_of({"Retry-After": "soon"}) is None
    assert retry_after_of({}) is None


def test_the_account_name_is_a_digest_not_the_key() -> None:
    name = account_of("vmPUZE6mv9SD5VNHk4HlWFsOr6aKE2zvsw0MuIgwCIPy6utIco14y7Ju91duEh8A")

    assert name is not None
    assert "vmPUZE" not in name
    assert account_of(None) is None
