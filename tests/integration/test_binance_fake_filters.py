"""The Binance fake refuses what Binance refuses: PERCENT_PRICE_BY_SIDE around its own price,
MARKET_LOT_SIZE on MARKET orders, and NOTIONAL's maximum, each as -1013 "Filter failure: X",
seen through the real python-binance client."""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal

import pytest
from pydantic import SecretStr
from tradebot.errors import FilterFailure
from tradebot.exchange.base import OrderRequest
from tradebot.exchange.binance import BinanceExchange

from tests.fakes.binance_server import BinanceFake

D = Decimal
KEY = "vmPUZE6mv9SD5VNHk4HlWFsOr6aKE2zvsw0MuIgwCIPy6utIco14y7Ju91duEh8A"
SECRET = "NhqPtmdSJYdKjVHjA7PZj4Mge3R5YNiP1e3UZjInClVN65XAbvqqM6A7H5fATj0j"


@pytest.fixture
def fake() -> Iterator[BinanceFake]:
    with BinanceFake(api_key=KEY, api_secret=SECRET) as server:
        server.set_balance("USDT", "20000000")
        server.set_balance("BTC", "200")
        yield server


@pytest.fixture
def exchange(fake: BinanceFake) -> Iterator[BinanceExchange]:
    exchange = BinanceExchange(KEY, SecretStr(SECRET), base_url=fake.base_url, timeout_s=2.0)
    yield exchange
    exchange.close()


def btc(side: str, kind: str, quantity: str, price: str | None = None) -> OrderRequest:
    order_id = f"{side}-{kind}-{quantity}-{price}".lower().replace(".", "_")
    return OrderRequest(
        "BTCUSDT", side, kind, order_id, quantity=D(quantity),  # type: ignore[arg-type]
        price=D(price) if price else None,
    )  # fmt: skip


def refused(exchange: BinanceExchange, order: OrderRequest) -> str:
    with pytest.raises(FilterFailure) as caught:
        exchange.place_order(order)
    assert caught.value.code == -1013
    return str(caught.value)


def test_the_fake_bounds_a_limit_buy_by_the_bid_multipliers_around_its_price(
    fake: BinanceFake, exchange: BinanceExchange
) -> None:
    fake.set_price("BTCUSDT", "95000")

    assert exchange.place_order(btc("BUY", "LIMIT", "0.001", "475000")).status == "NEW"
    assert exchange.place_order(btc("BUY", "LIMIT", "0.001", "19000")).status == "NEW"
    assert "PERCENT_PRICE_BY_SIDE" in refused(exchange, btc("BUY", "LIMIT", "0.001", "475000.01"))
    assert "PERCENT_PRICE_BY_SIDE" in refused(exchange, btc("BUY", "LIMIT", "0.001", "18999.99"))


def test_the_fake_bounds_a_limit_sell_by_the_ask_multipliers_and_follows_its_price(
    fake: BinanceFake, exchange: BinanceExchange
) -> None:
    fake.set_price("BTCUSDT", "10000")

    assert "PERCENT_PRICE_BY_SIDE" in refused(exchange, btc("SELL", "LIMIT", "0.001", "50000.01"))
    fake.set_price("BTCUSDT", "95000")
    assert exchange.place_order(btc("SELL", "LIMIT", "0.001", "50000.01")).status == "NEW"


def test_the_fake_applies_market_lot_size_to_market_orders_only(
    fake: BinanceFake, exchange: BinanceExchange
) -> None:
    fake.set_price("BTCUSDT", "95000")

    assert exchange.place_order(btc("SELL", "MARKET", "86.60698")).status == "FILLED"
    assert "MARKET_LOT_SIZE" in refused(exchange, btc("SELL", "MARKET", "86.60699"))
    assert exchange.place_order(btc("SELL", "LIMIT", "90", "95000")).status == "NEW"


def test_the_fake_refuses_a_limit_notional_above_max_notional(
    fake: BinanceFake, exchange: BinanceExchange
) -> None:
    fake.set_price("BTCUSDT", "95000")

    assert exchange.place_order(btc("BUY", "LIMIT", "100", "90000")).status == "NEW"
    assert "NOTIONAL" in refused(exchange, btc("BUY", "LIMIT", "100.00001", "90000"))
