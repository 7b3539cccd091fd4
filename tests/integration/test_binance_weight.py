"""Binance's request weight, shared by every function: the fake's 429/418 and our request budget.

The real python-binance client talks to the fake; the budgets share the test run's Redis
(fakeredis, or a real server with REDIS_URL), as Lambdas share the deployment's.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator
from decimal import Decimal

import httpx
import pytest
from pydantic import SecretStr
from redis import Redis
from tradebot.errors import ExchangeRateLimited
from tradebot.exchange.base import OrderRequest
from tradebot.exchange.binance import BinanceExchange
from tradebot.exchange.weight import RequestBudget

from tests.fakes.binance_limits import FIRST_BAN_S
from tests.fakes.binance_server import BinanceFake
from tests.support import FakeTime, closed_port, configure

KEY = "weightKey" + "0" * 55
SECRET = "weightSecret" + "1" * 52
MINUTE_START = 1_700_000_040.0  # a whole minute
ORDER_PATH = "/api/v3/order"


@pytest.fixture
def clock() -> FakeTime:
    return FakeTime(MINUTE_START + 30)


@pytest.fixture
def fake(clock: FakeTime) -> Iterator[BinanceFake]:
    with BinanceFake(api_key=KEY, api_secret=SECRET) as server:
        server.limits.clock = clock
        yield server


@pytest.fixture(autouse=True)
def no_leaked_threads() -> Iterator[None]:
    before = set(threading.enumerate())
    yield
    assert set(threading.enumerate()) <= before


def budget(clock: FakeTime, **settings: float) -> RequestBudget:
    """One function's budget (its own per-process view) on the shared Redis."""
    return RequestBudget(clock=clock, sleep=clock.sleep, **settings)  # type: ignore[arg-type]


def connect(fake: BinanceFake, spend: RequestBudget, key: str | None = KEY) -> BinanceExchange:
    secret = SecretStr(SECRET) if key else None
    return BinanceExchange(key, secret, base_url=fake.base_url, timeout_s=1.0, budget=spend)


def market_buy(client_order_id: str) -> OrderRequest:
    return OrderRequest("BTCUSDT", "BUY", "MARKET", client_order_id, quantity=Decimal("0.001"))


# --- the fake counts weight as Binance does ------------------------------------------------


def test_every_answer_reports_the_minutes_used_weight_per_endpoint(fake: BinanceFake) -> None:
    with httpx.Client(base_url=fake.base_url) as http:
        weights = [
            int(http.get(path, params=params).headers["X-MBX-USED-WEIGHT-1M"])
            for path, params in [
                ("/api/v3/ping", {}),  # 1
                ("/api/v3/time", {}),  # 1
                ("/api/v3/ticker/price", {"symbol": "BTCUSDT"}),  # 2
                ("/api/v3/ticker/price", {}),  # 4
                ("/api/v3/exchangeInfo", {}),  # 20
                ("/api/v3/order", {"symbol": "BTCUSDT"}),  # 4 (refused unsigned, still counted)
            ]
        ]

    assert weights == [1, 2, 4, 8, 28, 32]
    assert fake.used_weight() == 32


def test_placements_report_the_accounts_order_counts(fake: BinanceFake, clock: FakeTime) -> None:
    exchange = connect(fake, budget(clock))
    try:
        exchange.place_order(market_buy("count-1"))
        exchange.place_order(market_buy("count-2"))
    finally:
        exchange.close()

    with httpx.Client(base_url=fake.base_url) as http:
        # Unsigned: refused, yet a placement's answer, counted for the key it names.
        answer = http.post(ORDER_PATH, headers={"X-MBX-APIKEY": fake.api_key})
        elsewhere = http.post(ORDER_PATH, headers={"X-MBX-APIKEY": "another-account"})
    assert answer.headers["X-MBX-ORDER-COUNT-10S"] == "3"
    assert answer.headers["X-MBX-ORDER-COUNT-1D"] == "3"
    assert elsewhere.headers["X-MBX-ORDER-COUNT-10S"] == "1"  # orders count per account
    assert "X-MBX-ORDER-COUNT-10S" not in httpx.get(f"{fake.base_url}/api/v3/ping").headers


def test_the_fake_answers_429_past_the_limit_then_bans_a_caller_that_keeps_calling(
    fake: BinanceFake, clock: FakeTime
) -> None:
    fake.weight_limit = 40
    with httpx.Client(base_url=fake.base_url) as http:
        under = [http.get("/api/v3/exchangeInfo").status_code for _ in range(2)]
        limited = http.get("/api/v3/exchangeInfo")
        clock.now += 5  # still inside the minute it was told to wait out
        banned = http.get("/api/v3/ping")
        clock.now = MINUTE_START + 60 + 1  # the 429's wait is over, the ban is not
        still_banned = http.get("/api/v3/ping")

    assert under == [200, 200]
    assert limited.status_code == 429
    assert limited.json()["code"] == -1003
    assert limited.headers["Retry-After"] == "30"  # to the next minute
    assert banned.status_code == 418
    assert banned.json()["code"] == -1003
    assert int(banned.headers["Retry-After"]) == FIRST_BAN_S
    assert still_banned.status_code == 418
    assert int(still_banned.headers["Retry-After"]) == FIRST_BAN_S - 26


# --- our budget: shared through Redis ------------------------------------------------------


def test_used_weight_is_shared_between_two_exchanges_through_redis(
    fake: BinanceFake, clock: FakeTime
) -> None:
    # A limit of 50: 24 is past half its soft limit (20), where every figure is shared at once.
    one, other = budget(clock, weight_limit=50), budget(clock, weight_limit=50)
    exchange = connect(fake, one, key=None)
    try:
        exchange.exchange_info_filters()
        exchange.ticker_prices(["BTCUSDT", "ETHUSDT"])
    finally:
        exchange.close()

    assert fake.used_weight() == 24
    assert other.used("used-weight", "1m") == 24


def test_a_low_figure_is_shared_with_the_next_call_not_a_round_trip_of_its_own(
    fake: BinanceFake, clock: FakeTime
) -> None:
    one, other = budget(clock), budget(clock)  # 6000: 20 is far below anything that matters
    exchange = connect(fake, one, key=None)
    try:
        exchange.exchange_info_filters()
        assert other.used("used-weight", "1m") is None  # kept in this process for now
        assert one.used("used-weight", "1m") == 20  # its own view has it
        exchange.ticker_prices(["BTCUSDT", "ETHUSDT"])  # written with this call's read
    finally:
        exchange.close()

    assert other.used("used-weight", "1m") == 20  # the last answer (24) waits for the next call


def test_a_function_slows_down_before_the_limit_another_function_used(
    fake: BinanceFake, clock: FakeTime
) -> None:
    fake.weight_limit = 100
    busy = connect(fake, budget(clock, weight_limit=100), key=None)
    quiet = connect(fake, budget(clock, weight_limit=100, max_wait_s=45), key=None)
    try:
        for _ in range(4):
            busy.exchange_info_filters()  # 80 of 100: the soft limit
        sent_before = len(fake.requests)

        prices = quiet.ticker_prices(["BTCUSDT"])
    finally:
        busy.close()
        quiet.close()

    assert clock.sleeps == [pytest.approx(30.5)]  # held back to the next minute, then sent
    assert len(fake.requests) == sent_before + 1
    assert prices["BTCUSDT"] > 0
    assert fake.used_weight() == 4  # ?symbols=[...] weighs 4, even for one symbol


def test_a_wait_past_the_callers_max_is_refused_without_a_request(
    fake: BinanceFake, clock: FakeTime
) -> None:
    fake.weight_limit = 100
    busy = connect(fake, budget(clock, weight_limit=100), key=None)
    hurried = connect(fake, budget(clock, weight_limit=100, max_wait_s=10))
    try:
        for _ in range(4):
            busy.exchange_info_filters()
        sent_before = len(fake.requests)

        with pytest.raises(ExchangeRateLimited) as caught:
            hurried.place_order(market_buy("hurried-1"))
    finally:
        busy.close()
        hurried.close()

    assert caught.value.retry_after_s == pytest.approx(30.5)
    assert len(fake.requests) == sent_before
    assert clock.sleeps == []


def test_after_a_429_no_function_calls_binance_until_retry_after_so_no_ban(
    fake: BinanceFake, clock: FakeTime
) -> None:
    fake.weight_limit = 40
    # Budgets that would never slow down by themselves: only the 429 stops them.
    first = connect(fake, budget(clock, weight_limit=10**6), key=None)
    second = connect(fake, budget(clock, weight_limit=10**6))
    try:
        first.exchange_info_filters()
        first.exchange_info_filters()
        with pytest.raises(ExchangeRateLimited) as limited:
            first.exchange_info_filters()
        sent = len(fake.requests)

        with pytest.raises(ExchangeRateLimited) as refused:
            second.place_order(market_buy("after-429"))
        with pytest.raises(ExchangeRateLimited):
            first.ticker_prices(["BTCUSDT"])
        assert len(fake.requests) == sent  # nothing reached Binance

        clock.now = MINUTE_START + 60 + 0.1  # Retry-After has passed
        result = second.place_order(market_buy("after-429"))
    finally:
        first.close()
        second.close()

    assert limited.value.retry_after_s == 30
    assert refused.value.retry_after_s == pytest.approx(30)
    assert result.status == "FILLED"
    assert fake.limits.banned_until == 0  # never banned


def test_a_418_ban_is_shared_for_its_whole_retry_after(fake: BinanceFake, clock: FakeTime) -> None:
    shared = budget(clock)
    exchange = connect(fake, budget(clock), key=None)
    fake.fail_next("418", retry_after_s=600)
    try:
        with pytest.raises(ExchangeRateLimited):
            exchange.ticker_prices(["BTCUSDT"])
        clock.now += 599
        with pytest.raises(ExchangeRateLimited):
            exchange.ticker_prices(["BTCUSDT"])
    finally:
        exchange.close()

    assert len(fake.requests) == 1
    assert shared.backoff_remaining() == pytest.approx(1)


# --- Redis down: trading goes on, each process on its own view -----------------------------


def test_with_redis_down_orders_are_placed_and_the_process_still_backs_off(
    fake: BinanceFake, clock: FakeTime, caplog: pytest.LogCaptureFixture
) -> None:
    dead = Redis.from_url(f"redis://127.0.0.1:{closed_port()}/0", socket_timeout=0.2)
    alone = RequestBudget(redis=lambda: dead, clock=clock, sleep=clock.sleep)
    exchange = connect(fake, alone)
    try:
        with caplog.at_level(logging.WARNING, logger="tradebot.exchange.weight"):
            placed = [exchange.place_order(market_buy(f"no-redis-{i}")) for i in range(3)]
        fake.fail_next("429", retry_after_s=20)
        with pytest.raises(ExchangeRateLimited):
            exchange.balances()
        sent = len(fake.requests)
        with pytest.raises(ExchangeRateLimited) as refused:
            exchange.balances()
    finally:
        exchange.close()

    assert [result.status for result in placed] == ["FILLED"] * 3
    unavailable = [r for r in caplog.records if "Redis unavailable" in r.getMessage()]
    assert len(unavailable) == 1  # logged once, not once per call
    assert len(fake.requests) == sent
    assert refused.value.retry_after_s == pytest.approx(20)
    assert alone.used("used-weight", "1m") == fake.used_weight()


def test_the_functions_exchange_counts_against_the_shared_budget(
    fake: BinanceFake, monkeypatch: pytest.MonkeyPatch
) -> None:
    from tradebot.exchange.factory import binance_exchange
    from tradebot.exchange.weight import request_budget

    configure(monkeypatch, binance_base_url=fake.base_url)
    request_budget().back_off(15)
    exchange = binance_exchange()  # keyless, as the price updater's
    try:
        with pytest.raises(ExchangeRateLimited):
            exchange.ticker_prices(["BTCUSDT"])
    finally:
        exchange.close()

    assert fake.requests == []
