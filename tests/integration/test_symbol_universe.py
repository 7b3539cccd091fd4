"""The symbol list is the exchange's: the Binance price source refreshes every spot symbol from
exchangeInfo once a day, and still reads all prices in one request."""

from __future__ import annotations

import copy
import json
import time
from decimal import Decimal
from typing import Any

import pytest
from tradebot.cache.client import get_redis, key
from tradebot.exchange.snapshot import load_exchange_info, load_snapshot_filters
from tradebot.market import symbols
from tradebot.market.prices import read_prices
from tradebot.market.symbols import FILTERS, all_filters, filters_for, store_filters
from tradebot.market.updater import (
    FILTERS_REFRESH_S,
    FILTERS_REFRESHED,
    BinanceSource,
    refresh_prices,
    symbol_list_due,
)

from tests.fakes import binance_server
from tests.fakes.binance_server import BinanceFake

D = Decimal
EXCHANGE_INFO = "/api/v3/exchangeInfo"
TICKER = "/api/v3/ticker/price"
DAY_S = 24 * 3600


def _listing(symbol: str, **changes: Any) -> dict[str, Any]:
    entry: dict[str, Any] = copy.deepcopy(
        next(s for s in load_exchange_info()["symbols"] if s["symbol"] == "ADAUSDT")
    )
    entry.update(symbol=symbol, baseAsset=symbol.removesuffix("USDT"), **changes)
    return entry


@pytest.fixture
def exchange(binance_fake: BinanceFake, monkeypatch: pytest.MonkeyPatch) -> BinanceFake:
    """Binance lists, beyond the snapshot, a new spot coin, a margin-only pair, a halted pair."""
    listed = [
        _listing("NEWUSDT"),
        _listing("MARGINUSDT", isSpotTradingAllowed=False, permissionSets=[["MARGIN"]]),
        _listing("HALTEDUSDT", status="BREAK"),
    ]

    def exchange_info() -> dict[str, Any]:
        info = load_exchange_info()
        info["symbols"] += copy.deepcopy(listed)
        return info

    monkeypatch.setattr(binance_server, "load_exchange_info", exchange_info)
    for entry in listed:
        binance_fake.symbols[entry["symbol"]] = entry
        binance_fake.set_price(entry["symbol"], "1.2345")
    return binance_fake


def test_the_first_update_caches_every_trading_spot_symbol_and_their_prices(
    exchange: BinanceFake,
) -> None:
    report = refresh_prices(BinanceSource())

    expected = set(load_snapshot_filters()) | {"NEWUSDT"}
    assert set(all_filters()) == expected
    assert {p.symbol for p in read_prices()} == expected
    assert report.prices == len(expected)
    (info_call,) = exchange.requests_to("GET", EXCHANGE_INFO)
    assert info_call.params == {}  # every symbol, not only the cached ones
    assert len(exchange.requests_to("GET", TICKER)) == 1


def test_the_cached_symbol_list_outlives_a_day(exchange: BinanceFake) -> None:
    refresh_prices(BinanceSource())

    assert get_redis().ttl(key(*FILTERS)) > DAY_S


def test_the_symbol_list_is_refreshed_daily_and_prices_every_update_in_one_request(
    exchange: BinanceFake,
) -> None:
    refresh_prices(BinanceSource())
    get_redis().set(key(*FILTERS_REFRESHED), repr(time.time() - FILTERS_REFRESH_S + 60))
    refresh_prices(BinanceSource())
    assert len(exchange.requests_to("GET", EXCHANGE_INFO)) == 1

    get_redis().set(key(*FILTERS_REFRESHED), repr(time.time() - FILTERS_REFRESH_S - 1))
    refresh_prices(BinanceSource())

    assert FILTERS_REFRESH_S == DAY_S
    assert len(exchange.requests_to("GET", EXCHANGE_INFO)) == 2
    assert len(exchange.requests_to("GET", TICKER)) == 3


def test_a_failed_refresh_keeps_the_cached_symbols_priced_and_is_retried_next_time(
    exchange: BinanceFake,
) -> None:
    exchange.fail_next("503", count=3, path=EXCHANGE_INFO)

    report = refresh_prices(BinanceSource())

    assert report.prices == len(load_snapshot_filters())
    assert "NEWUSDT" not in all_filters()
    assert get_redis().get(key(*FILTERS_REFRESHED)) is None
    refresh_prices(BinanceSource())
    assert "NEWUSDT" in all_filters()


# --- the cached list in each process --------------------------------------------------------


def test_a_newly_stored_list_is_seen_at_once_and_decoded_once_per_process(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    decoded: list[str] = []
    decode = symbols._decode

    def counting(raw: dict[str, Any]) -> Any:
        decoded.append(raw["symbol"])
        return decode(raw)

    monkeypatch.setattr(symbols, "_decode", counting)
    snapshot = load_snapshot_filters()
    btc_only = {"BTCUSDT": snapshot["BTCUSDT"]}

    store_filters(snapshot)
    for _ in range(3):
        assert all_filters() == snapshot
    assert len(decoded) == len(snapshot)
    store_filters(btc_only)

    assert all_filters() == btc_only
    assert filters_for("BTCUSDT") == snapshot["BTCUSDT"]
    assert len(decoded) == len(snapshot) + 1


def test_without_the_cached_list_the_snapshot_is_used_even_after_a_process_decoded_one() -> None:
    snapshot = load_snapshot_filters()
    store_filters({"BTCUSDT": snapshot["BTCUSDT"]})
    assert list(all_filters()) == ["BTCUSDT"]

    get_redis().delete(key(*FILTERS))

    assert all_filters() == snapshot


def test_a_list_cached_by_the_previous_version_still_loads_and_is_refreshed_at_once() -> None:
    old = {"ETHUSDT": {
        "symbol": "ETHUSDT", "base_asset": "ETH", "quote_asset": "USDT", "tick_size": "0.01",
        "step_size": "0.0001", "min_qty": "0.0001", "max_qty": "9000", "min_price": "0.01",
        "max_price": "1000000", "min_notional": "5",
    }}  # fmt: skip
    redis = get_redis()
    redis.set(key(*FILTERS), json.dumps(old))
    redis.set(key(*FILTERS_REFRESHED), repr(time.time()))

    filters = filters_for("ETHUSDT")

    assert (filters.step_size, filters.max_num_orders) == (D("0.0001"), 0)
    assert symbol_list_due()
