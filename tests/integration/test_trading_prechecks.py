"""Pre-trade checks as Binance applies them, through the trades route: the market price's
freshness, PERCENT_PRICE_BY_SIDE, a stop's limit side, and open orders per symbol."""

from __future__ import annotations

import time
import uuid
from decimal import Decimal
from typing import Any

import pytest
from tradebot.db.engine import unit_of_work
from tradebot.db.models import Trade
from tradebot.errors import InvalidInput
from tradebot.market.prices import STALE_AFTER_S, write_prices
from tradebot.orders.schemas import TradeCreate
from tradebot.orders.validation import check_against_market, open_order_counts

from tests.support import assert_problem, error_fields
from tests.trading_support import (
    D,
    OrderQueueHarness,
    lift_limits,
    place,
    placed,
    set_prices,
    trade_rows,
)

User = tuple[str, str]
MARKET_BUY = {"symbol": "BTCUSDT", "side": "BUY", "type": "MARKET", "quantity": "0.001"}


@pytest.fixture(autouse=True)
def market_prices() -> None:
    set_prices(BTCUSDT="95000.00", ETHUSDT="3400.00")


def limit_buy(price: str, quantity: str = "0.001", symbol: str = "BTCUSDT") -> dict[str, Any]:
    return {"symbol": symbol, "side": "BUY", "type": "LIMIT", "quantity": quantity, "price": price}


def stop(side: str, price: str, stop_price: str, quantity: str = "0.001") -> dict[str, Any]:
    return {
        "symbol": "BTCUSDT", "side": side, "type": "STOP_LOSS_LIMIT",
        "quantity": quantity, "price": price, "stop_price": stop_price,
    }  # fmt: skip


def refused_on(reply: Any, field: str) -> str:
    problem = assert_problem(reply, 422)
    assert error_fields(reply) == [field], problem
    message: str = problem["errors"][0]["message"]
    return message


# --- PERCENT_PRICE_BY_SIDE ------------------------------------------------------------------


def test_a_limit_buy_at_ten_times_the_market_is_422_before_it_is_queued(
    order_queue: OrderQueueHarness, trader: User
) -> None:
    user_id, token = trader

    message = refused_on(place(token, limit_buy("950000")), "price")

    assert "PERCENT_PRICE_BY_SIDE" in message
    assert message.endswith("nearest valid: 475000")
    assert trade_rows(user_id) == []
    assert order_queue.bodies() == []


def test_a_limit_buy_at_the_bid_multiplier_is_queued(
    order_queue: OrderQueueHarness, trader: User
) -> None:
    lift_limits(trader[0])  # 4750 USDT, past the default max_order_notional
    trade = placed(trader[1], limit_buy("475000", quantity="0.01"))

    assert trade["price"] == "475000"
    assert len(order_queue.bodies()) == 1


# --- the market price's freshness -----------------------------------------------------------


def _stale(**prices: str) -> None:
    write_prices({s: D(p) for s, p in prices.items()}, at=time.time() - STALE_AFTER_S - 5)


def test_a_market_order_priced_from_a_stale_price_is_503_and_not_recorded(trader: User) -> None:
    user_id, token = trader
    _stale(BTCUSDT="95000.00")

    problem = assert_problem(place(token, MARKET_BUY), 503)

    assert "BTCUSDT" in problem["detail"]
    assert "out of date" in problem["detail"]
    assert trade_rows(user_id) == []


def test_a_limit_order_needing_percent_price_from_a_stale_price_is_503(trader: User) -> None:
    user_id, token = trader
    _stale(BTCUSDT="95000.00")

    assert_problem(place(token, limit_buy("90000")), 503)
    assert trade_rows(user_id) == []


def test_a_limit_order_without_any_market_price_skips_percent_price(trader: User) -> None:
    # No XRPUSDT price is cached: the order carries its own price, as before.
    trade = placed(trader[1], limit_buy("2.0000", quantity="10", symbol="XRPUSDT"))

    assert trade["status"] == "PENDING"


# --- a stop's limit side --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("side", "price", "stop_price", "explains"),
    [
        ("SELL", "90000.01", "90000.00", "must be at or below it"),
        ("BUY", "95999.99", "96000.00", "must be at or above it"),
    ],
)
def test_a_stop_whose_limit_is_on_the_wrong_side_of_its_stop_is_422_naming_price(
    trader: User, side: str, price: str, stop_price: str, explains: str
) -> None:
    message = refused_on(place(trader[1], stop(side, price, stop_price)), "price")

    assert explains in message
    assert message.endswith(f"nearest valid: {stop_price.rstrip('0').rstrip('.')}")


def test_a_stop_whose_limit_equals_its_stop_passes(trader: User) -> None:
    for side, price in (("SELL", "90000"), ("BUY", "96000")):
        body = TradeCreate.model_validate(stop(side, price, price))
        filters, market = check_against_market(body)
        assert (filters.symbol, market) == ("BTCUSDT", D("95000.00"))


# --- open orders per symbol -----------------------------------------------------------------


def _open_trades(user_id: str, kind: str, statuses: list[str], symbol: str = "BTCUSDT") -> None:
    with unit_of_work() as session:
        for status in statuses:
            session.add(
                Trade(
                    user_id=user_id, symbol=symbol, side="SELL", type=kind,
                    quantity=Decimal("0.001"), price=Decimal("90000"),
                    stop_price=Decimal("90500") if kind == "STOP_LOSS_LIMIT" else None,
                    status=status, client_order_id=uuid.uuid4().hex,
                )
            )  # fmt: skip


def test_open_orders_count_pending_new_partial_and_reconciling_on_the_symbol_only(
    trader: User, other_trader: User
) -> None:
    user_id, _ = trader
    counted = ["PENDING", "NEW", "PARTIALLY_FILLED", "RECONCILING"]
    _open_trades(user_id, "STOP_LOSS_LIMIT", counted)
    _open_trades(user_id, "LIMIT", ["NEW", "FILLED", "CANCELED", "REJECTED", "EXPIRED", "FAILED"])
    _open_trades(user_id, "STOP_LOSS_LIMIT", ["NEW"], symbol="ETHUSDT")
    _open_trades(other_trader[0], "STOP_LOSS_LIMIT", ["NEW"])

    assert open_order_counts_for(user_id) == (5, 4)


def open_order_counts_for(user_id: str) -> tuple[int, int]:
    with unit_of_work() as session:
        return open_order_counts(session, user_id, "BTCUSDT")


def test_a_sixth_open_stop_on_a_symbol_is_422_naming_type(trader: User) -> None:
    user_id, token = trader
    _open_trades(user_id, "STOP_LOSS_LIMIT", ["NEW", "NEW", "PENDING", "RECONCILING"])
    fifth = place(token, stop("BUY", "96000", "96000"))
    assert fifth.status == 202, fifth.raw_body

    message = refused_on(place(token, stop("BUY", "96000", "96000")), "type")

    assert "(MAX_NUM_ALGO_ORDERS: 5)" in message
    assert message.endswith("nearest valid: LIMIT")
    assert place(token, limit_buy("90000")).status == 202


def test_an_order_past_max_num_orders_on_a_symbol_is_422_naming_symbol(trader: User) -> None:
    user_id, token = trader
    lift_limits(user_id)  # the exchange's limit on open orders, far above ours
    _open_trades(user_id, "LIMIT", ["NEW"] * 150 + ["PARTIALLY_FILLED"] * 49)
    assert place(token, limit_buy("90000")).status == 202  # the 200th

    message = refused_on(place(token, limit_buy("90000")), "symbol")

    assert "(MAX_NUM_ORDERS: 200)" in message
    assert place(token, limit_buy("3000", symbol="ETHUSDT", quantity="0.01")).status == 202


def test_a_price_off_the_tick_far_from_the_market_is_reported_once_on_price() -> None:
    with pytest.raises(InvalidInput) as caught:
        check_against_market(TradeCreate.model_validate(limit_buy("950000.001")))

    assert [e.field for e in caught.value.errors] == ["price"]
    assert "(PRICE_FILTER)" in caught.value.errors[0].message
