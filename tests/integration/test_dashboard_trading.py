"""The dashboard after real paper trades; every figure recomputed here (Decimal, average cost)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from tests.support import assert_problem, call
from tests.trading_support import (
    STARTING_USDT,
    D,
    OrderQueueHarness,
    fee_down,
    get_trade,
    placed,
    set_prices,
)

User = tuple[str, str]
SHOWN = D("1e-8")
STORED = D("1e-18")


def dashboard(token: str) -> dict[str, Any]:
    reply = call("dashboard", token=token)
    assert reply.status == 200, reply.raw_body
    body: dict[str, Any] = reply.body
    return body


def fill(token: str, queue: OrderQueueHarness, side: str, quantity: str) -> None:
    trade = placed(
        token, {"symbol": "BTCUSDT", "side": side, "type": "MARKET", "quantity": quantity}
    )
    queue.drain()
    assert get_trade(token, trade["id"])["status"] == "FILLED"


def as_decimals(board: dict[str, Any]) -> dict[str, Any]:
    """The dashboard with its decimal strings read as Decimal (so 9433.616 == 9433.6160)."""

    def convert(value: Any) -> Any:
        if isinstance(value, dict):
            return {k: convert(v) for k, v in value.items()}
        if isinstance(value, list):
            return [convert(v) for v in value]
        if isinstance(value, str) and (value[:1].isdigit() or value.startswith("-")):
            return Decimal(value)
        return value

    result: dict[str, Any] = convert(board)
    return result


def test_a_new_trader_sees_the_starting_paper_balance_and_nothing_else(trader: User) -> None:
    assert dashboard(trader[1]) == {
        "trading_mode": "paper",
        "key_status": None,
        "balances": [{"asset": "USDT", "free": "10000", "locked": "0"}],
        "open_orders": 0,
        "trades_total": 0,
        "volume": "0",
        "realized_pnl": "0",
        "win_rate": None,
        "positions": [],
    }


def test_the_dashboard_after_a_buy_and_a_partial_sell_shows_average_cost_pnl(
    order_queue: OrderQueueHarness, trader: User
) -> None:
    _, token = trader
    set_prices(BTCUSDT="95000.00")
    fill(token, order_queue, "BUY", "0.01")
    set_prices(BTCUSDT="96000.00")
    fill(token, order_queue, "SELL", "0.004")
    resting = placed(
        token,
        {
            "symbol": "BTCUSDT",
            "side": "BUY",
            "type": "LIMIT",
            "quantity": "0.001",
            "price": "90000",
        },
    )
    order_queue.drain()
    set_prices(BTCUSDT="96500.00")

    board = dashboard(token)

    # The buy: 950 USDT for 0.01 BTC, of which 0.00001 BTC went in fees.
    bought = D("0.01") - fee_down(D("0.01"))
    avg_entry = (D("0.01") * D(95000) / bought).quantize(STORED)
    # The sell: 0.004 BTC for 384 USDT, less 0.384 USDT in fees.
    proceeds = D("0.004") * D(96000) - fee_down(D("0.004") * D(96000))
    realized = proceeds - D("0.004") * avg_entry
    held = bought - D("0.004")
    locked = D("0.001") * D(90000)
    usdt_free = STARTING_USDT - D(950) + proceeds - locked
    assert realized > 0
    assert get_trade(token, resting["id"])["status"] == "NEW"
    assert as_decimals(board) == {
        "trading_mode": "paper",
        "key_status": None,
        "balances": [
            {"asset": "BTC", "free": held, "locked": D(0)},
            {"asset": "USDT", "free": usdt_free, "locked": locked},
        ],
        "open_orders": 1,
        "trades_total": 2,
        "volume": D(950) + D(384),
        "realized_pnl": realized.quantize(SHOWN),
        "win_rate": None,  # the round trip is still open: a partial sell is not a win
        "positions": [
            {
                "symbol": "BTCUSDT",
                "quantity": held,
                "avg_entry_price": avg_entry.quantize(SHOWN),
                "last_price": D(96500),
                "unrealized_pnl": ((D(96500) - avg_entry) * held).quantize(SHOWN),
            }
        ],
    }


def test_the_cached_dashboard_changes_after_a_new_fill(
    order_queue: OrderQueueHarness, trader: User
) -> None:
    _, token = trader
    set_prices(BTCUSDT="95000.00")
    fill(token, order_queue, "BUY", "0.01")
    before = dashboard(token)
    assert dashboard(token) == before  # served from the cache, unchanged

    set_prices(BTCUSDT="94000.00")
    fill(token, order_queue, "SELL", "0.002")  # a losing sell
    after = dashboard(token)

    assert (before["trades_total"], after["trades_total"]) == (1, 2)
    assert D(after["volume"]) == D(950) + D("0.002") * D(94000)
    assert D(after["realized_pnl"]) < 0
    assert after["win_rate"] is None  # a partial sell: the round trip is still open
    assert D(after["positions"][0]["quantity"]) == D("0.00999") - D("0.002")
    assert after["balances"] != before["balances"]


def test_the_win_rate_counts_closed_round_trips_not_fills(
    order_queue: OrderQueueHarness, trader: User
) -> None:
    _, token = trader
    held = D("0.01") - fee_down(D("0.01"))  # 0.00999 BTC after the buy's fee
    set_prices(BTCUSDT="95000.00")
    fill(token, order_queue, "BUY", "0.01")
    set_prices(BTCUSDT="94000.00")
    fill(token, order_queue, "SELL", "0.004")  # a loss on this part
    set_prices(BTCUSDT="99000.00")
    fill(token, order_queue, "SELL", format(held - D("0.004"), "f"))  # closes the trip, net up
    assert dashboard(token)["win_rate"] == "1"  # one trip, a win: not one loss and one win

    set_prices(BTCUSDT="99000.00")
    fill(token, order_queue, "BUY", "0.01")
    set_prices(BTCUSDT="90000.00")
    fill(token, order_queue, "SELL", format(held, "f"))  # a second trip, a loss

    board = dashboard(token)
    assert board["win_rate"] == "0.5"
    assert board["positions"] == []
    assert board["trades_total"] == 5


def test_unrealized_pnl_follows_the_latest_price_without_a_new_fill(
    order_queue: OrderQueueHarness, trader: User
) -> None:
    _, token = trader
    set_prices(BTCUSDT="95000.00")
    fill(token, order_queue, "BUY", "0.01")

    set_prices(BTCUSDT="100000.00")
    up = dashboard(token)["positions"][0]
    set_prices(BTCUSDT="90000.00")
    down = dashboard(token)["positions"][0]

    assert (up["last_price"], down["last_price"]) == ("100000", "90000")
    assert D(up["unrealized_pnl"]) > 0 > D(down["unrealized_pnl"])


def test_a_placed_order_counts_as_open_at_once(trader: User) -> None:
    _, token = trader
    set_prices(BTCUSDT="95000.00")
    dashboard(token)  # cache it first

    placed(token, {"symbol": "BTCUSDT", "side": "BUY", "type": "MARKET", "quantity": "0.001"})

    assert dashboard(token)["open_orders"] == 1


@pytest.mark.parametrize("token", [None, "not-a-token"])
def test_the_dashboard_needs_a_valid_token(token: str | None) -> None:
    assert_problem(call("dashboard", token=token), 401)
