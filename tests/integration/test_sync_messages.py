"""Sync and cancel messages against the Binance fake: one sync per live user from open-order
listings, and permanent refusals (a revoked key, an order Binance no longer knows) resolved with
their reason instead of being redelivered.
"""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select
from tradebot.db.engine import unit_of_work
from tradebot.db.models import ApiCredential, Trade
from tradebot.market.updater import BinanceSource, refresh_prices, stranded_orders

from tests.fakes.binance_server import BinanceFake
from tests.trading_support import (
    ORDER_PATH,
    D,
    FixedSource,
    OrderQueueHarness,
    cancel,
    get_trade,
    placed,
    set_prices,
    store_key,
    trade_row,
)

User = tuple[str, str]
OPEN_ORDERS_PATH = "/api/v3/openOrders"
NEW_KEY = "vmPUZE6mv9SD5VNHk4HlWFsOr6aKE2zvsw0MuIgwCIPy6utIco14y7Ju91duEh8B"
PRICES = FixedSource(BTCUSDT="95000", ETHUSDT="3400")
THROUGH_THE_ORDER = FixedSource(BTCUSDT="93900", ETHUSDT="3400")  # below limit_buy()'s 94000


@pytest.fixture
def live_trader(order_queue: OrderQueueHarness, binance_fake: BinanceFake, trader: User) -> User:
    """A trader with a stored Binance key and cached prices equal to the fake's."""
    _, token = trader
    store_key(token)
    set_prices(**{symbol: str(price) for symbol, price in binance_fake.prices.items()})
    return trader


def limit_buy(symbol: str = "BTCUSDT", price: str = "94000", quantity: str = "0.001") -> Any:
    return {"symbol": symbol, "side": "BUY", "type": "LIMIT", "quantity": quantity, "price": price}


def resting(queue: OrderQueueHarness, token: str, body: dict[str, Any]) -> dict[str, Any]:
    """Place a LIMIT order that rests on Binance (NEW)."""
    trade = placed(token, body)
    queue.drain()
    trade = get_trade(token, trade["id"])
    assert trade["status"] == "NEW"
    return trade


def revoke_key(fake: BinanceFake) -> None:
    """Binance no longer accepts the stored key (-2015), as after the user deleted it there."""
    fake.api_key = "revoked" * 8


def credential(user_id: str) -> ApiCredential:
    with unit_of_work() as session:
        found = session.scalar(select(ApiCredential).where(ApiCredential.user_id == user_id))
        assert found is not None
        return found


def cancel_resent(trade_id: str) -> bool:
    """Whether the sweeper would send this trade's cancel again (a minute on)."""
    later = datetime.now(UTC) + timedelta(minutes=5)
    return any(m.trade_id == trade_id and m.action == "cancel" for m, _ in stranded_orders(later))


# --- one sync per user ----------------------------------------------------------------------


def test_a_live_users_open_orders_are_synced_by_one_message_from_their_open_order_listing(
    order_queue: OrderQueueHarness, binance_fake: BinanceFake, live_trader: User
) -> None:
    # Given two resting orders on BTCUSDT and one on ETHUSDT, one BTC order filled on Binance,
    # and a user never synced since (so synced in full, whatever the market did)
    user_id, token = live_trader
    filled = resting(order_queue, token, limit_buy())
    still_open = resting(order_queue, token, limit_buy(price="93000"))
    ether = resting(order_queue, token, limit_buy("ETHUSDT", "3300", "0.01"))
    binance_fake.fill_resting(filled["client_order_id"])
    binance_fake.requests.clear()

    # When the price update runs and its messages are delivered
    report = refresh_prices(PRICES)
    bodies = [json.loads(b) for b in order_queue.bodies()]
    order_queue.drain()

    # Then one message for the user; BTCUSDT listed (two orders: 6 < 2 x 4), the lone ETH order
    # and the BTC order that left the list looked up, the fill's fee read once
    assert report.triggered == 1
    assert bodies == [{"action": "sync_user", "user_id": user_id}]
    listings = binance_fake.requests_to("GET", OPEN_ORDERS_PATH)
    assert [r.params.get("symbol") for r in listings] == ["BTCUSDT"]
    looked_up = [r.params["origClientOrderId"] for r in binance_fake.requests_to("GET", ORDER_PATH)]
    assert sorted(looked_up) == sorted([filled["client_order_id"], ether["client_order_id"]])
    assert len(binance_fake.requests_to("GET", "/api/v3/myTrades")) == 1
    synced = get_trade(token, filled["id"])
    assert synced["status"] == "FILLED"
    assert (D(synced["fee"]), synced["fee_asset"]) == (D("0.000001"), "BTC")
    assert get_trade(token, still_open["id"])["status"] == "NEW"
    assert get_trade(token, ether["id"])["status"] == "NEW"
    assert trade_row(filled["id"]).sync_requested_at is None
    assert trade_row(still_open["id"]).sync_requested_at is None


def test_a_user_whose_sync_is_in_flight_gets_no_second_sync_message(
    order_queue: OrderQueueHarness, binance_fake: BinanceFake, live_trader: User
) -> None:
    _, token = live_trader
    resting(order_queue, token, limit_buy())
    now = time.time()

    first = refresh_prices(PRICES, now=now)
    # A minute on, the first not processed yet, and the market through the order's price
    second = refresh_prices(THROUGH_THE_ORDER, now=now + 60)
    order_queue.drain()
    # processed: the next update that finds the order reached sends again
    third = refresh_prices(THROUGH_THE_ORDER, now=now + 120)

    assert (first.triggered, second.triggered, third.triggered) == (1, 0, 1)


# --- a refused key ----------------------------------------------------------------------------


def test_a_sync_refused_for_the_key_is_resolved_and_the_user_not_synced_until_a_key_is_stored(
    order_queue: OrderQueueHarness, binance_fake: BinanceFake, live_trader: User
) -> None:
    # Given a resting order and a key Binance has since revoked
    user_id, token = live_trader
    trade = resting(order_queue, token, limit_buy())
    revoke_key(binance_fake)

    # When its sync is delivered
    refresh_prices(PRICES)
    delivery = order_queue.deliver()

    # Then the message is done with at once, the refusal recorded on the key
    assert delivery is not None
    assert delivery.failed == set()
    assert order_queue.depth() == 0
    refused = credential(user_id)
    assert refused.invalidated_at is not None
    assert "-2015" in (refused.invalid_reason or "")
    assert get_trade(token, trade["id"])["status"] == "NEW"
    # and no more syncs are sent for the user
    assert refresh_prices(PRICES).triggered == 0

    # Once a key is stored again (allowed although the order is open: the refused key can
    # neither cancel nor follow it), the open order follows the new key and is synced again
    binance_fake.api_key = NEW_KEY
    store_key(token, api_key=NEW_KEY)
    assert trade_row(trade["id"]).credential_id == credential(user_id).id
    resting(order_queue, token, limit_buy(price="93000"))
    binance_fake.fill_resting(trade["client_order_id"])  # the market traded at its price
    assert refresh_prices(BinanceSource()).triggered == 1  # the klines show it
    order_queue.drain()
    assert get_trade(token, trade["id"])["status"] == "FILLED"


def test_a_cancel_refused_for_the_key_is_resolved_with_the_reason(
    order_queue: OrderQueueHarness, binance_fake: BinanceFake, live_trader: User
) -> None:
    user_id, token = live_trader
    trade = resting(order_queue, token, limit_buy())
    revoke_key(binance_fake)

    assert cancel(token, trade["id"]).status == 202
    delivery = order_queue.deliver()

    assert delivery is not None
    assert delivery.failed == set()
    kept = get_trade(token, trade["id"])
    assert kept["status"] == "NEW"
    assert "cancel could not be carried out" in kept["reason"]
    assert trade_row(trade["id"]).cancel_requested_at is None
    assert credential(user_id).invalidated_at is not None
    assert not cancel_resent(trade["id"])


# --- an order Binance no longer knows (a testnet reset) ---------------------------------------


def test_a_cancel_of_an_order_binance_no_longer_knows_ends_it_with_the_reason(
    order_queue: OrderQueueHarness, binance_fake: BinanceFake, live_trader: User
) -> None:
    _, token = live_trader
    trade = resting(order_queue, token, limit_buy())
    binance_fake.orders.clear()  # the testnet was reset

    assert cancel(token, trade["id"]).status == 202
    delivery = order_queue.deliver()

    assert delivery is not None
    assert delivery.failed == set()
    gone = get_trade(token, trade["id"])
    assert gone["status"] == "EXPIRED"
    assert "no longer knows" in gone["reason"]
    assert not cancel_resent(trade["id"])


def test_a_sync_of_an_order_binance_no_longer_knows_ends_it_with_the_reason(
    order_queue: OrderQueueHarness, binance_fake: BinanceFake, live_trader: User
) -> None:
    _, token = live_trader
    trade = resting(order_queue, token, limit_buy())
    binance_fake.orders.clear()

    refresh_prices(PRICES)
    order_queue.drain()

    gone = get_trade(token, trade["id"])
    assert gone["status"] == "EXPIRED"
    assert "no longer knows" in gone["reason"]
    assert refresh_prices(PRICES).triggered == 0  # nothing left to sync


# --- a cancel while an attempt at placing is under way or failed ------------------------------


def test_a_pending_trade_whose_first_attempt_failed_can_be_canceled_before_it_is_placed(
    order_queue: OrderQueueHarness,
    binance_fake: BinanceFake,
    live_trader: User,
    recorded_sleeps: list[float],
) -> None:
    # Given an order whose first attempt was rate-limited before reaching the matching engine
    _, token = live_trader
    binance_fake.fail_next("429", count=3, path=ORDER_PATH)
    trade = placed(token, {**limit_buy(), "type": "LIMIT"})
    first = order_queue.deliver()
    assert first is not None
    assert first.failed

    # When its owner cancels it
    reply = cancel(token, trade["id"])
    order_queue.drain()

    # Then it is canceled at once: refused for certain, the attempt left no claim behind
    assert reply.status == 202
    assert reply.body["status"] == "CANCELED"
    assert reply.body["reason"] == "Canceled before it reached the exchange"
    assert binance_fake.placed_orders == []
    assert order_queue.depth() == 0


def test_a_cancel_recorded_while_an_attempt_holds_the_trade_is_honoured_before_placing(
    order_queue: OrderQueueHarness,
    binance_fake: BinanceFake,
    live_trader: User,
    recorded_sleeps: list[float],
) -> None:
    # Given an order an executor is placing right now (its claim is held)
    _, token = live_trader
    trade = placed(token, {**limit_buy(), "type": "LIMIT"})
    with unit_of_work() as session:
        row = session.get(Trade, trade["id"])
        assert row is not None
        row.claimed_at, row.claimed_by = datetime.now(UTC), "another-executor"

    # When its owner cancels it, and that attempt then ends refused for certain (no claim left)
    reply = cancel(token, trade["id"])
    with unit_of_work() as session:
        row = session.get(Trade, trade["id"])
        assert row is not None
        row.claimed_at = row.claimed_by = None
    order_queue.drain()

    # Then the cancel is accepted and honoured before the next attempt: never placed, CANCELED
    assert reply.status == 202
    assert reply.body["status"] == "PENDING"
    canceled = get_trade(token, trade["id"])
    assert canceled["status"] == "CANCELED"
    assert canceled["reason"] == "Canceled before it reached the exchange"
    assert binance_fake.placed_orders == []
    assert order_queue.depth() == 0
