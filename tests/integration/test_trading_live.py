"""Live trading through the executor against the Binance fake (a real HTTP server that checks
HMAC signatures), driven by real SQS deliveries: what Binance receives, what we record, and how
every error class ends.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import delete
from tradebot.db.engine import unit_of_work
from tradebot.db.models import ApiCredential
from tradebot.market.updater import refresh_prices
from tradebot.orders.reconcile import Reconciler

from tests.fakes.binance_server import BinanceFake
from tests.integration.conftest import MAX_RECEIVES
from tests.trading_support import (
    ORDER_PATH,
    WRONG_SECRET,
    D,
    FixedSource,
    OrderQueueHarness,
    cancel,
    get_trade,
    order_requests,
    placed,
    replace_stored_key,
    set_prices,
    store_key,
)

User = tuple[str, str]
pytestmark = pytest.mark.usefixtures("binance_fake")


@pytest.fixture
def live_trader(order_queue: OrderQueueHarness, binance_fake: BinanceFake, trader: User) -> User:
    """A trader with a stored Binance key and cached prices equal to the fake's."""
    _, token = trader
    store_key(token)
    set_prices(**{symbol: str(price) for symbol, price in binance_fake.prices.items()})
    return trader


def market_buy(quantity: str = "0.001") -> dict[str, Any]:
    return {"symbol": "BTCUSDT", "side": "BUY", "type": "MARKET", "quantity": quantity}


def run(queue: OrderQueueHarness, token: str, body: dict[str, Any]) -> dict[str, Any]:
    """Place through the route, deliver the queue once, return the trade."""
    trade = placed(token, body)
    delivery = queue.deliver()
    assert delivery is not None
    return get_trade(token, trade["id"])


def assert_plain_decimals(params: dict[str, str]) -> None:
    for name in ("quantity", "quoteOrderQty", "price", "stopPrice"):
        if name in params:
            assert "E" not in params[name].upper()
            assert Decimal(params[name]) > 0


# --- every order type -----------------------------------------------------------------------


def test_a_live_market_buy_reaches_binance_with_our_client_id_and_records_the_fill(
    order_queue: OrderQueueHarness, binance_fake: BinanceFake, live_trader: User
) -> None:
    _, token = live_trader

    trade = run(order_queue, token, market_buy("0.001"))

    (sent,) = binance_fake.placed_orders
    assert sent["newClientOrderId"] == trade["client_order_id"]
    assert (sent["symbol"], sent["side"], sent["type"]) == ("BTCUSDT", "BUY", "MARKET")
    assert sent["quantity"] == "0.001"
    assert_plain_decimals(sent)
    exchange_order = binance_fake.orders[trade["client_order_id"]]
    assert trade["status"] == "FILLED"
    assert trade["exchange_order_id"] == str(exchange_order["orderId"])
    assert (D(trade["executed_qty"]), D(trade["avg_price"])) == (D("0.001"), D(95000))
    assert (D(trade["fee"]), trade["fee_asset"]) == (D("0.000001"), "BTC")
    assert order_queue.depth() == 0


def test_a_live_market_buy_by_quote_quantity_sends_quote_order_qty(
    order_queue: OrderQueueHarness, binance_fake: BinanceFake, live_trader: User
) -> None:
    _, token = live_trader

    trade = run(
        order_queue,
        token,
        {"symbol": "ETHUSDT", "side": "BUY", "type": "MARKET", "quote_quantity": "100"},
    )

    (sent,) = binance_fake.placed_orders
    assert sent["quoteOrderQty"] == "100"
    assert "quantity" not in sent
    # 100 / 3400 = 0.02941..., on the 0.0001 step.
    assert trade["status"] == "FILLED"
    assert D(trade["executed_qty"]) == D("0.0294")
    assert D(trade["avg_price"]) == D(3400)
    assert (D(trade["fee"]), trade["fee_asset"]) == (D("0.0000294"), "ETH")


def test_a_live_market_sell_records_the_fee_in_the_quote_asset(
    order_queue: OrderQueueHarness, binance_fake: BinanceFake, live_trader: User
) -> None:
    _, token = live_trader
    binance_fake.set_balance("BTC", "1")

    trade = run(
        order_queue,
        token,
        {"symbol": "BTCUSDT", "side": "SELL", "type": "MARKET", "quantity": "0.01"},
    )

    assert binance_fake.placed_orders[0]["side"] == "SELL"
    assert trade["status"] == "FILLED"
    assert (D(trade["fee"]), trade["fee_asset"]) == (D("0.95"), "USDT")
    assert binance_fake.free["USDT"] == D(10000) + D(950) - D("0.95")


def test_a_live_limit_order_rests_on_binance_and_cancels_through_the_executor(
    order_queue: OrderQueueHarness, binance_fake: BinanceFake, live_trader: User
) -> None:
    _, token = live_trader
    body = {
        "symbol": "BTCUSDT",
        "side": "BUY",
        "type": "LIMIT",
        "quantity": "0.0015",
        "price": "90000.50",
    }

    trade = run(order_queue, token, body)

    (sent,) = binance_fake.placed_orders
    assert (sent["quantity"], sent["price"], sent["timeInForce"]) == ("0.0015", "90000.5", "GTC")
    assert sent["newClientOrderId"] == trade["client_order_id"]
    assert trade["status"] == "NEW"
    assert trade["exchange_order_id"] is not None
    assert binance_fake.locked["USDT"] == D("0.0015") * D("90000.50")

    assert cancel(token, trade["id"]).status == 202
    order_queue.drain()

    (deleted,) = binance_fake.requests_to("DELETE", ORDER_PATH)
    assert deleted.params["origClientOrderId"] == trade["client_order_id"]
    assert binance_fake.orders[trade["client_order_id"]]["status"] == "CANCELED"
    assert get_trade(token, trade["id"])["status"] == "CANCELED"
    assert binance_fake.locked["USDT"] == 0


def test_a_live_stop_loss_limit_sends_its_stop_price(
    order_queue: OrderQueueHarness, binance_fake: BinanceFake, live_trader: User
) -> None:
    _, token = live_trader
    binance_fake.set_balance("SOL", "10")
    body = {
        "symbol": "SOLUSDT",
        "side": "SELL",
        "type": "STOP_LOSS_LIMIT",
        "quantity": "1.5",
        "price": "170.00",
        "stop_price": "171.50",
    }

    trade = run(order_queue, token, body)

    (sent,) = binance_fake.placed_orders
    assert (sent["type"], sent["quantity"], sent["price"], sent["stopPrice"]) == (
        "STOP_LOSS_LIMIT",
        "1.5",
        "170",
        "171.5",
    )
    assert_plain_decimals(sent)
    assert trade["status"] == "NEW"
    assert binance_fake.locked["SOL"] == D("1.5")


# --- permanent errors: REJECTED with the reason, message done --------------------------------


@pytest.mark.parametrize(
    ("kind", "message", "expected_in_reason"),
    [
        ("-2010", "Market is closed.", "Market is closed."),
        ("-1013", None, "Filter failure"),
        ("-2015", None, "Invalid API-key"),
    ],
)
def test_a_permanent_refusal_rejects_the_trade_with_binances_reason(
    order_queue: OrderQueueHarness,
    binance_fake: BinanceFake,
    live_trader: User,
    recorded_sleeps: list[float],
    kind: str,
    message: str | None,
    expected_in_reason: str,
) -> None:
    _, token = live_trader
    binance_fake.fail_next(kind, path=ORDER_PATH, msg=message)
    trade = placed(token, market_buy())

    (delivery,) = order_queue.drain()

    assert delivery.failed == set()  # done: retrying cannot change the answer
    rejected = get_trade(token, trade["id"])
    assert rejected["status"] == "REJECTED"
    assert expected_in_reason in rejected["reason"]
    assert binance_fake.placed_orders == []
    assert len(binance_fake.requests_to("POST", ORDER_PATH)) == 1
    assert recorded_sleeps == []
    assert order_queue.depth() == 0


def test_an_order_the_binance_balance_cannot_cover_is_rejected(
    order_queue: OrderQueueHarness, binance_fake: BinanceFake, live_trader: User
) -> None:
    _, token = live_trader
    trade = placed(token, market_buy("0.01"))  # affordable when accepted
    binance_fake.set_balance("USDT", "1")  # spent elsewhere before it executes

    order_queue.drain()

    rejected = get_trade(token, trade["id"])
    assert rejected["status"] == "REJECTED"
    assert "insufficient balance" in rejected["reason"].lower()
    assert binance_fake.placed_orders == []


def test_a_key_replaced_before_the_order_executes_is_never_used_for_it(
    order_queue: OrderQueueHarness, binance_fake: BinanceFake, live_trader: User
) -> None:
    user_id, token = live_trader
    trade = placed(token, market_buy())
    # The API refuses a new key while this order may be open (tests/integration/test_api_keys);
    # the stored secret goes wrong behind its back, and the executor must still cope.
    replace_stored_key(user_id, api_secret=WRONG_SECRET)

    order_queue.drain()

    rejected = get_trade(token, trade["id"])
    assert rejected["status"] == "REJECTED"
    assert rejected["reason"] == "The API key changed after this order was accepted"
    assert WRONG_SECRET not in rejected["reason"]
    assert order_requests(binance_fake) == []  # not even tried with the new key
    assert binance_fake.placed_orders == []


# --- retryable errors: retried with back-off, placed at most once ----------------------------


def test_a_server_error_on_placement_is_looked_up_once_then_reconciled_never_sent_again(
    order_queue: OrderQueueHarness,
    binance_fake: BinanceFake,
    live_trader: User,
    recorded_sleeps: list[float],
) -> None:
    _, token = live_trader
    binance_fake.fail_next("503", path=ORDER_PATH)  # "execution status UNKNOWN", says Binance

    trade = run(order_queue, token, market_buy())

    assert trade["status"] == "RECONCILING"
    assert trade["client_order_id"] in trade["reason"]
    assert [r.method for r in order_requests(binance_fake)] == ["POST", "GET"]
    assert binance_fake.placed_orders == []
    assert recorded_sleeps == [0.2]
    assert order_queue.depth() == 0  # the message is done: the reconciler takes it from here


def test_a_timeout_on_placement_finds_the_order_instead_of_placing_it_twice(
    order_queue: OrderQueueHarness,
    binance_fake: BinanceFake,
    live_trader: User,
    recorded_sleeps: list[float],
) -> None:
    _, token = live_trader
    binance_fake.fail_next("timeout", path=ORDER_PATH)

    trade = run(order_queue, token, market_buy())

    assert trade["status"] == "FILLED"
    assert [r.method for r in order_requests(binance_fake)] == ["POST", "GET"]
    assert len(binance_fake.placed_orders) == 1
    assert trade["exchange_order_id"] == str(
        binance_fake.orders[trade["client_order_id"]]["orderId"]
    )


def test_a_rate_limit_waits_retry_after_then_places_without_a_lookup(
    order_queue: OrderQueueHarness,
    binance_fake: BinanceFake,
    live_trader: User,
    recorded_sleeps: list[float],
) -> None:
    _, token = live_trader
    binance_fake.fail_next("429", path=ORDER_PATH, retry_after_s=2)

    trade = run(order_queue, token, market_buy())

    assert trade["status"] == "FILLED"
    assert [r.method for r in order_requests(binance_fake)] == ["POST", "POST"]
    assert recorded_sleeps == [2.0]
    assert len(binance_fake.placed_orders) == 1


def test_clock_skew_resyncs_the_clock_and_places_again(
    order_queue: OrderQueueHarness,
    binance_fake: BinanceFake,
    live_trader: User,
    recorded_sleeps: list[float],
) -> None:
    _, token = live_trader
    binance_fake.fail_next("-1021", path=ORDER_PATH)

    trade = run(order_queue, token, market_buy())

    assert trade["status"] == "FILLED"
    assert len(binance_fake.requests_to("POST", ORDER_PATH)) == 2
    assert len(binance_fake.requests_to("GET", "/api/v3/time")) == 1
    assert len(binance_fake.placed_orders) == 1


def test_a_failure_that_outlasts_one_delivery_succeeds_on_the_next_delivery(
    order_queue: OrderQueueHarness,
    binance_fake: BinanceFake,
    live_trader: User,
    recorded_sleeps: list[float],
) -> None:
    _, token = live_trader
    # Every attempt of delivery 1 is refused before Binance processes it (request weight).
    binance_fake.fail_next("-1003", count=3, path=ORDER_PATH)
    trade = placed(token, market_buy())

    first = order_queue.deliver()
    assert first is not None
    assert first.failed == set(first.message_ids)  # left in the queue for a redelivery
    assert get_trade(token, trade["id"])["status"] == "PENDING"
    assert binance_fake.placed_orders == []

    second = order_queue.deliver()

    assert second is not None
    assert second.receive_counts == [2]
    assert second.failed == set()
    assert get_trade(token, trade["id"])["status"] == "FILLED"
    assert len(binance_fake.placed_orders) == 1
    # Nothing of delivery 1 can have been placed: delivery 2 places it, with no look-up.
    methods = [r.method for r in order_requests(binance_fake)]
    assert methods == ["POST"] * 4
    assert order_queue.depth() == 0


def test_an_order_still_failing_on_the_last_receive_is_failed_with_the_reason(
    order_queue: OrderQueueHarness,
    binance_fake: BinanceFake,
    live_trader: User,
    recorded_sleeps: list[float],
) -> None:
    _, token = live_trader
    binance_fake.fail_next("-1003", count=100, path=ORDER_PATH)  # refused before processing
    trade = placed(token, market_buy())

    deliveries = order_queue.drain(max_rounds=MAX_RECEIVES)

    assert [d.receive_counts for d in deliveries] == [[n] for n in range(1, MAX_RECEIVES + 1)]
    assert all(d.failed == set(d.message_ids) for d in deliveries)  # never deleted
    assert deliveries[-1].response["batchItemFailures"] == [
        {"itemIdentifier": deliveries[-1].message_ids[0]}
    ]
    failed = get_trade(token, trade["id"])
    assert failed["status"] == "FAILED"
    assert failed["reason"].startswith("Could not be executed after retries")
    assert "Too much request weight" in failed["reason"]
    # Every delivery made its three attempts, each placing again (each was refused for certain,
    # so FAILED is the truth: not on the exchange).
    methods = [r.method for r in order_requests(binance_fake)]
    assert methods == ["POST"] * 3 * MAX_RECEIVES
    assert recorded_sleeps == [0.2, 0.4] * MAX_RECEIVES
    assert binance_fake.placed_orders == []
    # The queue then moves the message to its dead-letter queue.
    assert order_queue.deliver() is None
    assert len(order_queue.dead_letters()) == 1


def test_an_outage_during_placement_never_places_twice_across_deliveries(
    order_queue: OrderQueueHarness,
    binance_fake: BinanceFake,
    live_trader: User,
    recorded_sleeps: list[float],
) -> None:
    _, token = live_trader
    # The POST lands but times out; the look-up fails too.
    binance_fake.fail_next("timeout", path=ORDER_PATH)
    binance_fake.fail_next("503", count=2, path=ORDER_PATH)
    trade = placed(token, market_buy())

    order_queue.drain()
    assert get_trade(token, trade["id"])["status"] == "RECONCILING"
    Reconciler(sleep=lambda _s: None).run()

    assert get_trade(token, trade["id"])["status"] == "FILLED"
    assert len(binance_fake.placed_orders) == 1
    assert len(binance_fake.requests_to("POST", ORDER_PATH)) == 1


# --- open orders are kept up to date ------------------------------------------------------------


def test_the_price_update_syncs_a_live_open_order_to_what_binance_reports(
    order_queue: OrderQueueHarness, binance_fake: BinanceFake, live_trader: User
) -> None:
    _, token = live_trader
    body = {
        "symbol": "BTCUSDT",
        "side": "BUY",
        "type": "LIMIT",
        "quantity": "0.002",
        "price": "94000",
    }
    trade = run(order_queue, token, body)
    assert trade["status"] == "NEW"
    # The order fills on Binance while nobody is looking.
    binance_fake.fill_resting(trade["client_order_id"])

    report = refresh_prices(FixedSource(BTCUSDT="95000"))
    order_queue.drain()

    assert report.triggered == 1
    synced = get_trade(token, trade["id"])
    assert synced["status"] == "FILLED"
    assert (D(synced["executed_qty"]), D(synced["avg_price"])) == (D("0.002"), D(94000))
    assert (D(synced["fee"]), synced["fee_asset"]) == (D("0.000002"), "BTC")
    assert len(binance_fake.placed_orders) == 1


def test_a_cancel_that_arrives_after_the_order_filled_records_the_fill(
    order_queue: OrderQueueHarness, binance_fake: BinanceFake, live_trader: User
) -> None:
    _, token = live_trader
    body = {
        "symbol": "BTCUSDT",
        "side": "BUY",
        "type": "LIMIT",
        "quantity": "0.002",
        "price": "94000",
    }
    trade = run(order_queue, token, body)
    assert cancel(token, trade["id"]).status == 202
    binance_fake.fill_resting(trade["client_order_id"])

    order_queue.drain()

    assert len(binance_fake.requests_to("DELETE", ORDER_PATH)) == 1  # Binance: unknown order
    filled = get_trade(token, trade["id"])
    assert filled["status"] == "FILLED"
    assert (D(filled["fee"]), filled["fee_asset"]) == (D("0.000002"), "BTC")


def test_an_order_whose_key_was_removed_before_it_executed_is_rejected(
    order_queue: OrderQueueHarness, binance_fake: BinanceFake, live_trader: User
) -> None:
    user_id, token = live_trader
    trade = placed(token, market_buy())
    # The API refuses this while the order may be open (tests/integration/test_api_keys); the
    # key goes behind its back, and the executor must still cope.
    with unit_of_work() as session:
        session.execute(delete(ApiCredential).where(ApiCredential.user_id == user_id))

    order_queue.drain()

    rejected = get_trade(token, trade["id"])
    assert rejected["status"] == "REJECTED"
    assert "key" in rejected["reason"].lower()
    assert binance_fake.requests == [r for r in binance_fake.requests if r.path != ORDER_PATH]


def test_a_failing_order_holds_back_its_users_later_orders_but_not_other_users(
    order_queue: OrderQueueHarness,
    binance_fake: BinanceFake,
    live_trader: User,
    other_trader: User,
    recorded_sleeps: list[float],
) -> None:
    _, token = live_trader
    _, other_token = other_trader
    # All of the first order's attempts are refused before processing (request weight).
    binance_fake.fail_next("-1003", count=3, path=ORDER_PATH)
    first = placed(token, market_buy("0.001"))
    second = placed(token, market_buy("0.002"))
    elsewhere = placed(other_token, market_buy("0.003"))  # a paper trader

    delivery = order_queue.deliver()

    assert delivery is not None
    assert len(delivery.message_ids) == 3
    assert len(delivery.failed) == 2  # the first order and the one queued behind it
    assert get_trade(token, first["id"])["status"] == "PENDING"
    assert get_trade(token, second["id"])["status"] == "PENDING"
    assert get_trade(other_token, elsewhere["id"])["status"] == "FILLED"

    order_queue.drain()

    assert get_trade(token, first["id"])["status"] == "FILLED"
    assert get_trade(token, second["id"])["status"] == "FILLED"
    # Still in the user's order: the first order reached Binance before the second.
    assert [o["newClientOrderId"] for o in binance_fake.placed_orders] == [
        first["client_order_id"],
        second["client_order_id"],
    ]
