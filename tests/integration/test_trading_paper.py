"""Every order type on the paper exchange, end to end: route -> SQS -> executor -> balances.

Prices are set exactly with `write_prices` (or the updater with a fixed source); every expected
balance is computed here with Decimal: 10000 USDT to start, fills at the stated price, fees 0.1%
in the received asset rounded down to eight decimals.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from tradebot.market.updater import refresh_prices

from tests.support import assert_problem, call
from tests.trading_support import (
    STARTING_USDT,
    D,
    FixedSource,
    OrderQueueHarness,
    balances,
    cancel,
    fee_down,
    get_trade,
    lift_limits,
    placed,
    set_prices,
    trade_row,
)

User = tuple[str, str]
BTC_AFTER_BUY = D("0.01") - fee_down(D("0.01"))  # 0.01 bought, fee taken in BTC
USDT_AFTER_BUY = STARTING_USDT - D("0.01") * D("95000.00")


def market(side: str, **amount: str) -> dict[str, Any]:
    return {"symbol": "BTCUSDT", "side": side, "type": "MARKET", **amount}


def limit(side: str, quantity: str, price: str) -> dict[str, Any]:
    return {
        "symbol": "BTCUSDT",
        "side": side,
        "type": "LIMIT",
        "quantity": quantity,
        "price": price,
    }


def stop_loss(quantity: str, stop_price: str, price: str) -> dict[str, Any]:
    return {
        "symbol": "BTCUSDT",
        "side": "SELL",
        "type": "STOP_LOSS_LIMIT",
        "quantity": quantity,
        "price": price,
        "stop_price": stop_price,
    }


def execute(token: str, queue: OrderQueueHarness, body: dict[str, Any]) -> dict[str, Any]:
    """Place through the route and run the queue until it is empty; returns the trade."""
    trade = placed(token, body)
    deliveries = queue.drain()
    assert deliveries
    assert all(not d.failed for d in deliveries)
    return get_trade(token, trade["id"])


@pytest.fixture
def holder(order_queue: OrderQueueHarness, trader: User) -> User:
    """A trader who bought 0.01 BTC at 95000 (holding 0.00999 BTC after the fee)."""
    _, token = trader
    set_prices(BTCUSDT="95000.00")
    assert execute(token, order_queue, market("BUY", quantity="0.01"))["status"] == "FILLED"
    return trader


# --- MARKET ---------------------------------------------------------------------------------


def test_market_buy_by_quantity_fills_at_the_cached_price_with_the_fee_in_the_base_asset(
    order_queue: OrderQueueHarness, trader: User
) -> None:
    user_id, token = trader
    set_prices(BTCUSDT="95000.00")

    filled = execute(token, order_queue, market("BUY", quantity="0.01"))

    assert filled["status"] == "FILLED"
    assert (D(filled["executed_qty"]), D(filled["avg_price"])) == (D("0.01"), D(95000))
    assert (D(filled["fee"]), filled["fee_asset"]) == (D("0.00001"), "BTC")
    assert filled["fees"] == [{"asset": "BTC", "amount": "0.00001"}]  # every asset, as strings
    assert filled["exchange_order_id"] == f"paper-{filled['client_order_id']}"
    assert balances(user_id) == {"USDT": (USDT_AFTER_BUY, D(0)), "BTC": (BTC_AFTER_BUY, D(0))}
    assert D("9050") == USDT_AFTER_BUY
    assert order_queue.depth() == 0


def test_market_buy_by_quote_quantity_spends_at_most_that_much_on_whole_steps(
    order_queue: OrderQueueHarness, trader: User
) -> None:
    user_id, token = trader
    set_prices(BTCUSDT="95000.00")

    filled = execute(token, order_queue, market("BUY", quote_quantity="100"))

    # 100 / 95000 = 0.0010526..., rounded down to the 0.00001 step.
    quantity = D("0.00105")
    cost = quantity * D("95000.00")
    assert cost == D("99.75")
    assert filled["status"] == "FILLED"
    assert D(filled["executed_qty"]) == quantity
    assert D(filled["quote_quantity"]) == D(100)
    assert (D(filled["fee"]), filled["fee_asset"]) == (fee_down(quantity), "BTC")
    assert balances(user_id) == {
        "USDT": (STARTING_USDT - cost, D(0)),
        "BTC": (quantity - fee_down(quantity), D(0)),
    }


def test_market_sell_by_quantity_pays_the_fee_in_the_quote_asset(
    order_queue: OrderQueueHarness, holder: User
) -> None:
    user_id, token = holder
    set_prices(BTCUSDT="96000.00")

    filled = execute(token, order_queue, market("SELL", quantity="0.005"))

    proceeds = D("0.005") * D("96000.00")
    fee = fee_down(proceeds)
    assert (proceeds, fee) == (D(480), D("0.48"))
    assert filled["status"] == "FILLED"
    assert (D(filled["fee"]), filled["fee_asset"]) == (fee, "USDT")
    assert filled["fees"] == [{"asset": "USDT", "amount": "0.48"}]
    assert D(filled["avg_price"]) == D(96000)
    assert balances(user_id) == {
        "USDT": (USDT_AFTER_BUY + proceeds - fee, D(0)),
        "BTC": (BTC_AFTER_BUY - D("0.005"), D(0)),
    }


def test_market_sell_by_quote_quantity_sells_the_whole_steps_worth_that_much(
    order_queue: OrderQueueHarness, holder: User
) -> None:
    user_id, token = holder
    set_prices(BTCUSDT="96000.00")

    filled = execute(token, order_queue, market("SELL", quote_quantity="200"))

    quantity = D("0.00208")  # 200 / 96000 = 0.0020833..., rounded down to the step
    proceeds = quantity * D(96000)
    assert filled["status"] == "FILLED"
    assert D(filled["executed_qty"]) == quantity
    assert balances(user_id) == {
        "USDT": (USDT_AFTER_BUY + proceeds - fee_down(proceeds), D(0)),
        "BTC": (BTC_AFTER_BUY - quantity, D(0)),
    }


def test_a_market_order_the_balance_cannot_cover_at_execution_is_rejected(
    order_queue: OrderQueueHarness, trader: User
) -> None:
    user_id, token = trader
    lift_limits(user_id)  # a 9500 USDT order, past the default max_order_notional
    set_prices(BTCUSDT="95000.00")
    trade = placed(token, market("BUY", quantity="0.1"))  # 9500 USDT: affordable now
    set_prices(BTCUSDT="120000.00")  # 12000 USDT by the time it executes

    order_queue.drain()

    rejected = get_trade(token, trade["id"])
    assert rejected["status"] == "REJECTED"
    assert "insufficient balance" in rejected["reason"].lower()
    assert balances(user_id) == {"USDT": (STARTING_USDT, D(0))}


def test_a_market_order_below_the_minimum_notional_at_execution_is_rejected_not_retried(
    order_queue: OrderQueueHarness, trader: User
) -> None:
    user_id, token = trader
    set_prices(BTCUSDT="95000.00")
    trade = placed(token, market("BUY", quantity="0.00006"))  # 5.70 USDT: valid now
    set_prices(BTCUSDT="80000.00")  # 4.80 USDT at execution, under the 5 USDT minimum

    deliveries = order_queue.drain()

    assert [d.failed for d in deliveries] == [set()]  # answered once, as Binance would (-1013)
    rejected = get_trade(token, trade["id"])
    assert rejected["status"] == "REJECTED"
    assert "NOTIONAL" in rejected["reason"]
    assert balances(user_id) == {"USDT": (STARTING_USDT, D(0))}


# --- LIMIT ----------------------------------------------------------------------------------


def test_a_resting_limit_buy_locks_its_funds_then_fills_at_its_price_when_the_update_crosses_it(
    order_queue: OrderQueueHarness, trader: User
) -> None:
    user_id, token = trader
    set_prices(BTCUSDT="95000.00")

    resting = execute(token, order_queue, limit("BUY", "0.01", "94000.00"))

    reserved = D("0.01") * D("94000.00")
    assert resting["status"] == "NEW"
    assert D(resting["executed_qty"]) == 0
    assert balances(user_id) == {"USDT": (STARTING_USDT - reserved, reserved)}

    untouched = refresh_prices(FixedSource(BTCUSDT="94000.01"))
    assert untouched.triggered == 0
    assert order_queue.depth() == 0

    crossed = refresh_prices(FixedSource(BTCUSDT="93900.00"))
    assert crossed.triggered == 1
    assert [json.loads(b) for b in order_queue.bodies()] == [
        {"trade_id": resting["id"], "action": "sync"}
    ]
    order_queue.drain()

    filled = get_trade(token, resting["id"])
    assert filled["status"] == "FILLED"
    assert D(filled["avg_price"]) == D(94000)  # a resting order fills at its own limit
    assert balances(user_id) == {
        "USDT": (STARTING_USDT - reserved, D(0)),
        "BTC": (D("0.01") - fee_down(D("0.01")), D(0)),
    }


def test_a_resting_limit_sell_locks_the_base_asset_and_fills_when_the_price_rises_to_it(
    order_queue: OrderQueueHarness, holder: User
) -> None:
    user_id, token = holder

    resting = execute(token, order_queue, limit("SELL", "0.005", "97000.00"))

    assert resting["status"] == "NEW"
    assert balances(user_id) == {
        "USDT": (USDT_AFTER_BUY, 0),
        "BTC": (BTC_AFTER_BUY - D("0.005"), D("0.005")),
    }
    refresh_prices(FixedSource(BTCUSDT="97000.00"))
    order_queue.drain()

    proceeds = D("0.005") * D(97000)
    assert get_trade(token, resting["id"])["status"] == "FILLED"
    assert balances(user_id) == {
        "USDT": (USDT_AFTER_BUY + proceeds - fee_down(proceeds), D(0)),
        "BTC": (BTC_AFTER_BUY - D("0.005"), D(0)),
    }


def test_a_marketable_limit_buy_fills_at_once_at_the_better_market_price(
    order_queue: OrderQueueHarness, trader: User
) -> None:
    user_id, token = trader
    set_prices(BTCUSDT="95000.00")

    filled = execute(token, order_queue, limit("BUY", "0.01", "96000.00"))

    assert filled["status"] == "FILLED"
    assert D(filled["avg_price"]) == D(95000)
    # 960 locked at the limit, 950 spent: the 10 difference is back in free, nothing locked.
    assert balances(user_id) == {"USDT": (USDT_AFTER_BUY, D(0)), "BTC": (BTC_AFTER_BUY, D(0))}


def test_a_marketable_limit_sell_fills_at_once_at_the_better_market_price(
    order_queue: OrderQueueHarness, holder: User
) -> None:
    user_id, token = holder

    filled = execute(token, order_queue, limit("SELL", "0.005", "94000.00"))

    proceeds = D("0.005") * D("95000.00")
    assert filled["status"] == "FILLED"
    assert D(filled["avg_price"]) == D(95000)
    assert balances(user_id) == {
        "USDT": (USDT_AFTER_BUY + proceeds - fee_down(proceeds), D(0)),
        "BTC": (BTC_AFTER_BUY - D("0.005"), D(0)),
    }


# --- STOP_LOSS_LIMIT ------------------------------------------------------------------------


def test_a_stop_loss_limit_rests_until_the_stop_then_fills_when_the_limit_is_reachable(
    order_queue: OrderQueueHarness, holder: User
) -> None:
    user_id, token = holder

    resting = execute(
        token, order_queue, stop_loss("0.005", stop_price="94000.00", price="93900.00")
    )

    assert resting["status"] == "NEW"
    assert balances(user_id)["BTC"] == (BTC_AFTER_BUY - D("0.005"), D("0.005"))
    assert refresh_prices(FixedSource(BTCUSDT="94000.01")).triggered == 0

    assert refresh_prices(FixedSource(BTCUSDT="93950.00")).triggered == 1
    order_queue.drain()

    filled = get_trade(token, resting["id"])
    proceeds = D("0.005") * D("93950.00")
    assert filled["status"] == "FILLED"
    assert D(filled["avg_price"]) == D(93950)
    assert trade_row(resting["id"]).stop_triggered is True
    assert balances(user_id) == {
        "USDT": (USDT_AFTER_BUY + proceeds - fee_down(proceeds), D(0)),
        "BTC": (BTC_AFTER_BUY - D("0.005"), D(0)),
    }


def test_a_stop_that_gaps_below_its_limit_rests_as_a_limit_and_fills_when_the_price_returns(
    order_queue: OrderQueueHarness, holder: User
) -> None:
    user_id, token = holder
    resting = execute(
        token, order_queue, stop_loss("0.005", stop_price="94000.00", price="93900.00")
    )

    # The update that triggers the stop is below the limit: the order becomes a resting limit.
    assert refresh_prices(FixedSource(BTCUSDT="93800.00")).triggered == 1
    order_queue.drain()
    triggered = get_trade(token, resting["id"])
    assert triggered["status"] == "NEW"
    assert trade_row(resting["id"]).stop_triggered is True

    # A later update in the same minute reaches the limit.
    assert refresh_prices(FixedSource(BTCUSDT="93900.00")).triggered == 1
    order_queue.drain()

    filled = get_trade(token, resting["id"])
    proceeds = D("0.005") * D("93900.00")
    assert filled["status"] == "FILLED"
    assert balances(user_id)["USDT"] == (USDT_AFTER_BUY + proceeds - fee_down(proceeds), D(0))


# --- cancel ---------------------------------------------------------------------------------


def test_canceling_a_resting_limit_buy_releases_the_locked_funds(
    order_queue: OrderQueueHarness, trader: User
) -> None:
    user_id, token = trader
    set_prices(BTCUSDT="95000.00")
    resting = execute(token, order_queue, limit("BUY", "0.01", "94000.00"))

    reply = cancel(token, resting["id"])

    assert reply.status == 202
    assert reply.body["id"] == resting["id"]
    assert [json.loads(b) for b in order_queue.bodies()] == [
        {"trade_id": resting["id"], "action": "cancel"}
    ]
    order_queue.drain()
    assert get_trade(token, resting["id"])["status"] == "CANCELED"
    assert balances(user_id) == {"USDT": (STARTING_USDT, D(0))}


def test_canceling_a_resting_stop_loss_releases_the_locked_base_asset(
    order_queue: OrderQueueHarness, holder: User
) -> None:
    user_id, token = holder
    resting = execute(
        token, order_queue, stop_loss("0.005", stop_price="94000.00", price="93900.00")
    )

    assert cancel(token, resting["id"]).status == 202
    order_queue.drain()

    assert get_trade(token, resting["id"])["status"] == "CANCELED"
    assert balances(user_id) == {"USDT": (USDT_AFTER_BUY, D(0)), "BTC": (BTC_AFTER_BUY, D(0))}
    # A canceled order is no longer matched: a later crossing changes nothing.
    assert refresh_prices(FixedSource(BTCUSDT="93000.00")).triggered == 0


def test_a_filled_trade_cannot_be_canceled(order_queue: OrderQueueHarness, holder: User) -> None:
    _, token = holder
    (filled,) = call("trades_list", token=token, query={"status": "FILLED"}).body["items"]

    problem = assert_problem(cancel(token, filled["id"]), 409)

    assert "FILLED" in problem["detail"]
    assert order_queue.depth() == 0


def test_balances_after_a_sequence_of_trades_are_the_start_minus_fills_and_fees(
    order_queue: OrderQueueHarness, trader: User
) -> None:
    user_id, token = trader
    lift_limits(user_id)  # orders past the default max_order_notional
    set_prices(BTCUSDT="95000.00", ETHUSDT="3400.00")

    execute(token, order_queue, market("BUY", quantity="0.02"))
    execute(
        token,
        order_queue,
        {"symbol": "ETHUSDT", "side": "BUY", "type": "MARKET", "quote_quantity": "500"},
    )
    set_prices(BTCUSDT="95500.50")
    execute(token, order_queue, market("SELL", quantity="0.0123"))

    eth = D("0.1470")  # 500 / 3400 = 0.147058..., on the 0.0001 step
    usdt = (
        STARTING_USDT
        - D("0.02") * D(95000)
        - eth * D(3400)
        + D("0.0123") * D("95500.50")
        - fee_down(D("0.0123") * D("95500.50"))
    )
    assert balances(user_id) == {
        "USDT": (usdt, D(0)),
        "BTC": (D("0.02") - fee_down(D("0.02")) - D("0.0123"), D(0)),
        "ETH": (eth - fee_down(eth), D(0)),
    }
