"""When the market could have reached a resting live order, from the range it traded in."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from tradebot.exchange.base import PriceRange
from tradebot.market.live_sync import RestingOrder, reached, traded_since

D = Decimal
T0 = datetime(2026, 1, 5, 12, 0, tzinfo=UTC)
MINUTE = timedelta(minutes=1)


def order(
    side: str, kind: str = "LIMIT", price: str = "100", stop: str | None = None
) -> RestingOrder:
    return RestingOrder(
        user_id="u",
        symbol="BTCUSDT",
        side=side,
        type=kind,
        price=D(price),
        stop_price=D(stop) if stop is not None else None,
    )


@pytest.mark.parametrize(
    ("side", "low", "high", "expected"),
    [
        ("BUY", "100", "105", True),  # traded at its price: it may have filled
        ("BUY", "99", "101", True),
        ("BUY", "100.01", "105", False),
        ("SELL", "95", "100", True),
        ("SELL", "95", "99.99", False),
    ],
)
def test_a_limit_order_is_reached_when_the_market_traded_at_or_beyond_its_price(
    side: str, low: str, high: str, expected: bool
) -> None:
    assert reached(order(side), D(low), D(high)) is expected


def test_a_stop_loss_limit_is_reached_once_its_stop_was() -> None:
    sell = order("SELL", "STOP_LOSS_LIMIT", price="89", stop="90")  # limit below the stop
    assert reached(sell, D("90"), D("95")) is True
    assert reached(sell, D("90.01"), D("95")) is False  # above its limit all along: not its stop
    buy = order("BUY", "STOP_LOSS_LIMIT", price="111", stop="110")
    assert reached(buy, D("100"), D("110")) is True
    assert reached(buy, D("100"), D("109.99")) is False


def test_a_stop_whose_limit_lies_beyond_it_is_reached_at_its_limit_too() -> None:
    # Triggered earlier (a live stop's trigger is not recorded), it rests at its limit
    sell = order("SELL", "STOP_LOSS_LIMIT", price="95", stop="90")
    assert reached(sell, D("91"), D("95")) is True
    assert reached(sell, D("91"), D("94.99")) is False


def test_the_traded_range_since_a_moment_takes_the_candles_ending_after_it_and_the_price() -> None:
    candles = [
        PriceRange(T0, T0 + MINUTE, D("90"), D("100")),
        PriceRange(T0 + MINUTE, T0 + 2 * MINUTE, D("95"), D("99")),
    ]
    assert traded_since(candles, T0 + MINUTE, D("101")) == (D("95"), D("101"))
    assert traded_since(candles, T0 + timedelta(seconds=30), None) == (D("90"), D("100"))


def test_nothing_is_known_of_a_moment_the_ranges_do_not_reach_back_to() -> None:
    candles = [PriceRange(T0 + MINUTE, None, D("95"), D("99"))]
    assert traded_since(candles, T0, D("97")) is None
    assert traded_since([], T0, D("97")) is None
