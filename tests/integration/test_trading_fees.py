"""The fee of a live fill learned by looking the order up, not from its placement answer.

GET /api/v3/order lists no fills, so no commission: after a placement whose answer was lost, on a
resting order synced later, or on a cancel that finds fills, the executor reads the fills'
commission from the account trade list (GET /api/v3/myTrades) of the Binance fake, which checks
signatures and lists the same trades, with the same commission, as its placement answers.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from tradebot.market.updater import refresh_prices

from tests.fakes.binance_server import TRADES_PATH, BinanceFake
from tests.integration.conftest import MAX_RECEIVES
from tests.support import configure
from tests.trading_support import (
    ORDER_PATH,
    D,
    FixedSource,
    OrderQueueHarness,
    cancel,
    get_trade,
    placed,
    position,
    set_prices,
    store_key,
)

User = tuple[str, str]
MARKET_BUY = {"symbol": "BTCUSDT", "side": "BUY", "type": "MARKET", "quantity": "0.003"}
LIMIT_BUY = {
    "symbol": "BTCUSDT",
    "side": "BUY",
    "type": "LIMIT",
    "quantity": "0.002",
    "price": "94000",
}


@pytest.fixture
def live_trader(order_queue: OrderQueueHarness, binance_fake: BinanceFake, trader: User) -> User:
    """A trader with a stored Binance key; the fake fills MARKET orders in three trades."""
    _, token = trader
    store_key(token)
    set_prices(**{symbol: str(price) for symbol, price in binance_fake.prices.items()})
    binance_fake.market_fill_parts = 3
    return trader


def run(queue: OrderQueueHarness, token: str, body: dict[str, Any]) -> dict[str, Any]:
    """Place through the route, drain the queue, return the trade."""
    trade = placed(token, body)
    queue.drain()
    return get_trade(token, trade["id"])


def fee_of(trade: dict[str, Any]) -> tuple[Decimal, str | None]:
    return D(trade["fee"]), trade["fee_asset"]


def trade_list_reads(fake: BinanceFake, trade: dict[str, Any]) -> list[dict[str, str]]:
    """The GET /myTrades requests the fake received for this trade's order."""
    reads = fake.requests_to("GET", TRADES_PATH)
    return [r.params for r in reads if r.params.get("orderId") == trade["exchange_order_id"]]


def placement_fee(fake: BinanceFake, trade: dict[str, Any]) -> tuple[Decimal, str]:
    """What the FULL placement answer charged for this trade's order, fill by fill."""
    fills = fake.orders[trade["client_order_id"]]["fills"]
    assert len(fills) == 3
    assert len({fill["commissionAsset"] for fill in fills}) == 1
    return sum((D(fill["commission"]) for fill in fills), D(0)), fills[0]["commissionAsset"]


# --- after an unknown placement outcome -------------------------------------------------------


def test_a_fill_found_by_lookup_after_a_placement_timeout_records_the_fee_placing_would(
    order_queue: OrderQueueHarness,
    binance_fake: BinanceFake,
    live_trader: User,
    recorded_sleeps: list[float],
) -> None:
    user_id, token = live_trader
    normal = run(order_queue, token, MARKET_BUY)
    binance_fake.fail_next("timeout", path=ORDER_PATH)  # placed, but the answer is lost

    looked_up = run(order_queue, token, MARKET_BUY)

    assert looked_up["status"] == "FILLED"
    assert fee_of(looked_up) == fee_of(normal) == placement_fee(binance_fake, looked_up)
    assert fee_of(looked_up)[0] > 0
    assert D(looked_up["executed_qty"]) == D(normal["executed_qty"]) == D("0.003")
    # Only the look-up needed the trade list (signed, by order id); the normal placement did not.
    assert trade_list_reads(binance_fake, normal) == []
    (read,) = trade_list_reads(binance_fake, looked_up)
    assert read["symbol"] == "BTCUSDT"
    assert "signature" in read
    # Each order exactly once on Binance.
    sent = [p["newClientOrderId"] for p in binance_fake.placed_orders]
    assert sent == [normal["client_order_id"], looked_up["client_order_id"]]
    # The position counts both fees: 0.006 BTC bought, both fees paid in BTC.
    held = position(user_id, "BTCUSDT")
    assert held is not None
    assert held.quantity == D("0.006") - 2 * fee_of(normal)[0]


def test_a_trade_list_failing_once_is_read_again_in_the_same_delivery(
    order_queue: OrderQueueHarness,
    binance_fake: BinanceFake,
    live_trader: User,
    recorded_sleeps: list[float],
) -> None:
    _, token = live_trader
    binance_fake.fail_next("-1007", path=ORDER_PATH)
    binance_fake.fail_next("503", path=TRADES_PATH)

    trade = run(order_queue, token, MARKET_BUY)

    assert trade["status"] == "FILLED"
    assert fee_of(trade) == placement_fee(binance_fake, trade)
    assert len(binance_fake.requests_to("GET", TRADES_PATH)) == 2
    assert recorded_sleeps == [0.2, 0.2]  # before the look-up, then before reading again
    assert len(binance_fake.placed_orders) == 1


def test_a_trade_list_failing_for_a_whole_delivery_keeps_the_fill_for_the_next_one(
    order_queue: OrderQueueHarness,
    binance_fake: BinanceFake,
    live_trader: User,
    recorded_sleeps: list[float],
) -> None:
    _, token = live_trader
    binance_fake.fail_next("timeout", path=ORDER_PATH)
    binance_fake.fail_next("503", count=3, path=TRADES_PATH)  # every read of delivery 1
    trade = placed(token, MARKET_BUY)

    first = order_queue.deliver()

    assert first is not None
    assert first.failed == set(first.message_ids)  # left in the queue, not lost
    assert get_trade(token, trade["id"])["status"] == "PENDING"

    second = order_queue.deliver()

    assert second is not None
    assert second.failed == set()
    recorded = get_trade(token, trade["id"])
    assert recorded["status"] == "FILLED"
    assert fee_of(recorded) == placement_fee(binance_fake, recorded)
    # Delivery 2 looked the order up (a read) instead of placing it again.
    assert [r.method for r in binance_fake.requests_to("POST", ORDER_PATH)] == ["POST"]
    assert len(binance_fake.placed_orders) == 1
    assert order_queue.depth() == 0


def test_a_trade_list_failing_until_the_last_delivery_records_the_fill_without_its_fee(
    order_queue: OrderQueueHarness,
    binance_fake: BinanceFake,
    live_trader: User,
    recorded_sleeps: list[float],
) -> None:
    user_id, token = live_trader
    binance_fake.fail_next("timeout", path=ORDER_PATH)
    binance_fake.fail_next("503", count=1000, path=TRADES_PATH)
    trade = placed(token, MARKET_BUY)

    deliveries = order_queue.drain(max_rounds=MAX_RECEIVES)

    assert len(deliveries) == MAX_RECEIVES
    recorded = get_trade(token, trade["id"])
    # The fill is kept (not FAILED): Binance filled it. Its fee is unknown, not zero-in-BTC.
    assert recorded["status"] == "FILLED"
    assert D(recorded["executed_qty"]) == D("0.003")
    assert recorded["fee_asset"] is None
    held = position(user_id, "BTCUSDT")
    assert held is not None
    assert held.quantity == D("0.003")
    assert len(binance_fake.placed_orders) == 1
    assert len(binance_fake.requests_to("POST", ORDER_PATH)) == 1


def test_a_permanent_refusal_of_the_trade_list_records_the_fill_without_rejecting_it(
    order_queue: OrderQueueHarness,
    binance_fake: BinanceFake,
    live_trader: User,
    recorded_sleeps: list[float],
) -> None:
    _, token = live_trader
    binance_fake.fail_next("timeout", path=ORDER_PATH)
    binance_fake.fail_next("-2015", path=TRADES_PATH)  # e.g. a key without read permission

    trade = run(order_queue, token, MARKET_BUY)

    assert trade["status"] == "FILLED"
    assert trade["reason"] is None
    assert (D(trade["executed_qty"]), trade["fee_asset"]) == (D("0.003"), None)
    assert len(binance_fake.requests_to("GET", TRADES_PATH)) == 1  # not retried
    assert len(binance_fake.placed_orders) == 1


# --- resting orders -------------------------------------------------------------------------


def test_a_resting_order_filled_later_and_synced_records_each_fills_fee_once(
    order_queue: OrderQueueHarness,
    binance_fake: BinanceFake,
    live_trader: User,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Every update syncs every live user (a full sync each time): this follows fees across
    # syncs, not when the updater sends them.
    configure(monkeypatch, live_full_sync_s="0")
    user_id, token = live_trader
    trade = run(order_queue, token, LIMIT_BUY)
    assert trade["status"] == "NEW"
    assert trade_list_reads(binance_fake, trade) == []  # nothing executed: nothing to read

    binance_fake.fill_resting(trade["client_order_id"], "0.0005")
    refresh_prices(FixedSource(BTCUSDT="95000"))
    order_queue.drain()

    partial = get_trade(token, trade["id"])
    assert partial["status"] == "PARTIALLY_FILLED"
    assert fee_of(partial) == (D("0.0000005"), "BTC")

    # A sync that finds no new fill does not spend the trade list's weight again.
    refresh_prices(FixedSource(BTCUSDT="95000"))
    order_queue.drain()
    assert len(trade_list_reads(binance_fake, trade)) == 1

    binance_fake.fill_resting(trade["client_order_id"])
    refresh_prices(FixedSource(BTCUSDT="95000"))
    order_queue.drain()

    filled = get_trade(token, trade["id"])
    assert filled["status"] == "FILLED"
    assert fee_of(filled) == (D("0.000002"), "BTC")
    assert len(trade_list_reads(binance_fake, trade)) == 2
    trades = [t for t in binance_fake.trades if str(t["orderId"]) == trade["exchange_order_id"]]
    assert fee_of(filled)[0] == sum(D(t["commission"]) for t in trades)
    held = position(user_id, "BTCUSDT")
    assert held is not None
    assert held.quantity == D("0.002") - D("0.000002")
    assert held.fills == 1
    assert len(binance_fake.placed_orders) == 1


def test_a_sync_whose_trade_list_fails_records_the_fill_on_a_later_sync(
    order_queue: OrderQueueHarness,
    binance_fake: BinanceFake,
    live_trader: User,
    recorded_sleeps: list[float],
) -> None:
    _, token = live_trader
    trade = run(order_queue, token, LIMIT_BUY)
    binance_fake.fill_resting(trade["client_order_id"])
    binance_fake.fail_next("503", count=3, path=TRADES_PATH)

    refresh_prices(FixedSource(BTCUSDT="95000"))
    first = order_queue.deliver()

    assert first is not None
    assert first.failed == set(first.message_ids)
    assert get_trade(token, trade["id"])["status"] == "NEW"  # nothing half-recorded

    order_queue.drain()

    filled = get_trade(token, trade["id"])
    assert filled["status"] == "FILLED"
    assert fee_of(filled) == (D("0.000002"), "BTC")
    assert len(binance_fake.placed_orders) == 1


def test_a_cancel_after_a_partial_fill_records_that_fills_fee(
    order_queue: OrderQueueHarness, binance_fake: BinanceFake, live_trader: User
) -> None:
    user_id, token = live_trader
    trade = run(order_queue, token, LIMIT_BUY)
    binance_fake.fill_resting(trade["client_order_id"], "0.001")

    assert cancel(token, trade["id"]).status == 202
    order_queue.drain()

    canceled = get_trade(token, trade["id"])
    assert canceled["status"] == "CANCELED"
    assert D(canceled["executed_qty"]) == D("0.001")
    assert fee_of(canceled) == (D("0.000001"), "BTC")
    held = position(user_id, "BTCUSDT")
    assert held is not None
    assert held.quantity == D("0.001") - D("0.000001")
    assert binance_fake.locked["USDT"] == 0
