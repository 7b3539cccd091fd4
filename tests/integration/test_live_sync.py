"""Which live users the price update syncs: only those the market could have reached an open
order of (Binance's 1m klines, or the simulated market's step), and everyone at least every
LIVE_FULL_SYNC_S; when the ranges cannot be read, everyone.
"""

from __future__ import annotations

import logging
import time
from typing import Any

import pytest
from redis.exceptions import ConnectionError as RedisConnectionError
from tradebot.market import live_sync
from tradebot.market.prices import write_prices
from tradebot.market.updater import BinanceSource, refresh_prices
from tradebot.settings import get_settings

from tests.fakes.binance_server import BinanceFake
from tests.trading_support import (
    ORDER_PATH,
    D,
    FixedSource,
    OrderQueueHarness,
    get_trade,
    new_trader,
    placed,
    set_prices,
    store_key,
)

User = tuple[str, str]
KLINES_PATH = "/api/v3/klines"
# What a price update asks Binance for itself: the symbol list, the ticker, the klines.
MARKET_PATHS = {"/api/v3/exchangeInfo", "/api/v3/ticker/price", KLINES_PATH}
STILL = FixedSource(BTCUSDT="95000", ETHUSDT="3400")  # the market stood at these prices


def binance_market() -> BinanceSource:
    """The market as the Binance fake reports it (ticker and klines); retries do not sleep."""
    return BinanceSource(sleep=lambda _s: None)


@pytest.fixture
def live_trader(order_queue: OrderQueueHarness, binance_fake: BinanceFake, trader: User) -> User:
    """A trader with a stored Binance key and cached prices equal to the fake's."""
    store_key(trader[1])
    set_prices(**{symbol: str(price) for symbol, price in binance_fake.prices.items()})
    return trader


def resting(queue: OrderQueueHarness, token: str, price: str = "94000") -> dict[str, Any]:
    """A LIMIT BUY of BTCUSDT resting on Binance (NEW)."""
    body = {"symbol": "BTCUSDT", "side": "BUY", "type": "LIMIT", "quantity": "0.001"}
    trade = placed(token, {**body, "price": price})
    queue.drain()
    trade = get_trade(token, trade["id"])
    assert trade["status"] == "NEW"
    return trade


def synced_once(queue: OrderQueueHarness, fake: BinanceFake, now: float | None = None) -> None:
    """A first update: users never synced are synced in full; then the fake's log is cleared."""
    assert refresh_prices(binance_market(), now=now).triggered >= 1
    queue.drain()
    fake.requests.clear()


def account_requests(fake: BinanceFake) -> list[str]:
    """Requests that are not the update's own market reads (listings, look-ups, trade lists)."""
    return [f"{r.method} {r.path}" for r in fake.requests if r.path not in MARKET_PATHS]


def test_a_live_order_the_market_did_not_reach_is_not_synced(
    order_queue: OrderQueueHarness, binance_fake: BinanceFake, live_trader: User
) -> None:
    # Given a LIMIT BUY at 94000, synced once, and a market that moved but never down to it
    _, token = live_trader
    resting(order_queue, token)
    synced_once(order_queue, binance_fake)
    for price in ("95500", "94000.01", "95000"):
        binance_fake.set_price("BTCUSDT", price)

    # When the next update runs
    report = refresh_prices(binance_market())

    # Then no sync: only the klines of the order's symbol were read, nothing of the account
    assert report.triggered == 0
    assert order_queue.depth() == 0
    assert [r.params["symbol"] for r in binance_fake.requests_to("GET", KLINES_PATH)] == ["BTCUSDT"]
    assert account_requests(binance_fake) == []


def test_an_order_whose_price_was_touched_and_recovered_between_updates_is_synced(
    order_queue: OrderQueueHarness, binance_fake: BinanceFake, live_trader: User
) -> None:
    # Given a LIMIT BUY at 94000 synced once, and the market down to 93990 and back since
    _, token = live_trader
    trade = resting(order_queue, token)
    synced_once(order_queue, binance_fake)
    binance_fake.set_price("BTCUSDT", "93990")
    binance_fake.set_price("BTCUSDT", "95000")

    # When the next update runs (its ticker price, 95000, does not reach the order)
    report = refresh_prices(binance_market())
    order_queue.drain()

    # Then the candle's low did: the user is synced (their BTCUSDT order looked up)
    assert report.triggered == 1
    looked_up = binance_fake.requests_to("GET", ORDER_PATH)
    assert [r.params["origClientOrderId"] for r in looked_up] == [trade["client_order_id"]]
    assert get_trade(token, trade["id"])["status"] == "NEW"  # touched, not filled here


def test_a_fill_on_binance_is_synced_at_the_next_update(
    order_queue: OrderQueueHarness, binance_fake: BinanceFake, live_trader: User
) -> None:
    _, token = live_trader
    trade = resting(order_queue, token)
    synced_once(order_queue, binance_fake)

    binance_fake.fill_resting(trade["client_order_id"])  # a trade at 94000, in the candles
    report = refresh_prices(binance_market())
    order_queue.drain()

    assert report.triggered == 1
    assert get_trade(token, trade["id"])["status"] == "FILLED"


def test_every_live_user_is_synced_at_least_every_live_full_sync_s(
    order_queue: OrderQueueHarness, binance_fake: BinanceFake, live_trader: User
) -> None:
    # Given two live users with an order each, synced once, and a market that stands still
    _, token = live_trader
    _, other_token = new_trader("other@example.com")
    store_key(other_token)
    mine = resting(order_queue, token)
    resting(order_queue, other_token, price="93000")
    start = time.time()
    assert refresh_prices(STILL, now=start).triggered == 2
    order_queue.drain()
    # and one order canceled on Binance outside the bot
    binance_fake.route(
        "DELETE", ORDER_PATH, {"symbol": "BTCUSDT", "origClientOrderId": mine["client_order_id"]}
    )

    # When updates run a minute, then just short of the full-sync interval, then at it
    full = get_settings().live_full_sync_s
    minute = refresh_prices(STILL, now=start + 60)
    short = refresh_prices(STILL, now=start + full - 1)
    due = refresh_prices(STILL, now=start + full)
    order_queue.drain()

    # Then nobody is synced until the interval is over; then everyone, and the cancel is seen
    assert full == 600
    assert (minute.triggered, short.triggered, due.triggered) == (0, 0, 2)
    assert get_trade(token, mine["id"])["status"] == "CANCELED"


def test_when_the_klines_cannot_be_read_every_live_user_is_synced(
    order_queue: OrderQueueHarness,
    binance_fake: BinanceFake,
    live_trader: User,
    caplog: pytest.LogCaptureFixture,
) -> None:
    # Given two live users synced once, and Binance failing every klines attempt
    _, token = live_trader
    _, other_token = new_trader("other@example.com")
    store_key(other_token)
    resting(order_queue, token)
    resting(order_queue, other_token, price="93000")
    synced_once(order_queue, binance_fake)
    binance_fake.fail_next("500", count=3, path=KLINES_PATH)

    # When the next update runs
    with caplog.at_level(logging.WARNING, logger="tradebot.market.live_sync"):
        report = refresh_prices(binance_market())

    # Then, nothing known of the market, every live user is synced, and it is said
    assert len(binance_fake.requests_to("GET", KLINES_PATH)) == 3
    assert report.triggered == 2
    assert any("ranges unreadable" in r.getMessage() for r in caplog.records)
    order_queue.drain()
    assert refresh_prices(binance_market()).triggered == 0  # readable again: nothing reached


def test_with_the_simulated_market_a_user_is_synced_when_a_step_passes_their_order(
    order_queue: OrderQueueHarness, binance_fake: BinanceFake, live_trader: User
) -> None:
    # Given the simulated market (the default here) and a LIMIT BUY at 94000, synced once
    _, token = live_trader
    resting(order_queue, token)
    start = time.time()
    assert refresh_prices(now=start).triggered == 1
    order_queue.drain()
    binance_fake.requests.clear()

    # When a step from about 95000 moves it by a fraction of a percent
    quiet = refresh_prices(now=start + 60)
    # and a step from a price on the order's limit (the previous update's, as if it had been)
    write_prices({"BTCUSDT": D("94000")}, at=start + 60)
    crossed = refresh_prices(now=start + 120)

    # Then the first is not synced and asked Binance nothing; the second is synced
    assert quiet.triggered == 0
    assert binance_fake.requests == []
    assert crossed.triggered == 1


def test_when_the_sync_marks_cannot_be_read_every_live_user_is_synced(
    order_queue: OrderQueueHarness,
    binance_fake: BinanceFake,
    live_trader: User,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Given a live user synced a minute ago, and a market that stands still
    _, token = live_trader
    resting(order_queue, token)
    assert refresh_prices(STILL).triggered == 1
    order_queue.drain()
    assert refresh_prices(STILL).triggered == 0

    # When Redis cannot be reached for the marks
    monkeypatch.setattr(live_sync, "get_redis", RedisDown)

    # Then the user is synced (failing open costs weight, never a fill)
    assert refresh_prices(STILL).triggered == 1


class RedisDown:
    """A Redis client whose server is gone."""

    def mget(self, *_args: object) -> None:
        raise RedisConnectionError("Redis is down")

    def pipeline(self, *_args: object, **_kwargs: object) -> None:
        raise RedisConnectionError("Redis is down")
