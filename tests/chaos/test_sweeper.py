"""The sweeper: a trade whose order message never reached the queue, or whose executor died
holding its claim, is found by the scheduled price update, sent again and executed."""

from __future__ import annotations

import time
from typing import Any

import pytest
from tradebot.db.engine import unit_of_work
from tradebot.orders.executor import Executor
from tradebot.orders.messages import OrderMessage
from tradebot.orders.queue import reset_queue_client
from tradebot.settings import get_settings

from devstack.functions import load_function
from devstack.lambda_events import FakeLambdaContext, scheduled_event
from loadtest.books import check_books
from tests.chaos.conftest import ChaosLedger, Services
from tests.fakes.binance_server import BinanceFake
from tests.integration.test_executor_once import executor
from tests.support import call, configure, register_and_login
from tests.trading_support import (
    ORDER_PATH,
    DiesAfterPlacing,
    OrderQueueHarness,
    get_trade,
    placed,
    set_prices,
    store_key,
)

pytestmark = pytest.mark.chaos
User = tuple[str, str]
MARKET_BUY = {"symbol": "BTCUSDT", "side": "BUY", "type": "MARKET", "quantity": "0.001"}
SWEEP_AFTER_S = 1


@pytest.fixture
def sweep_soon(
    services: Services, order_queue: OrderQueueHarness, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Trades count as stranded after one second instead of a minute."""
    configure(monkeypatch, pending_sweep_after_s=str(SWEEP_AFTER_S), order_claim_lease_s="2")


def price_update() -> dict[str, Any]:
    """One run of the scheduled price_updater function, as EventBridge invokes it."""
    handler = load_function("price_updater").handler
    result: dict[str, Any] = handler(
        scheduled_event("arn:aws:events:us-east-1:000000000000:rule/chaos"),
        FakeLambdaContext(function_name="price_updater"),
    )
    return result


def with_queue_down(monkeypatch: pytest.MonkeyPatch, queue: OrderQueueHarness) -> Any:
    """Point the application at a queue that does not exist; returns a restore function."""
    configure(monkeypatch, order_queue_url=queue.queue.url.replace("orders", "gone"))
    reset_queue_client()

    def restore() -> None:
        configure(monkeypatch, order_queue_url=queue.queue.url)
        reset_queue_client()

    return restore


@pytest.mark.parametrize("mode", ["live", "paper"])
@pytest.mark.usefixtures("sweep_soon")
def test_a_trade_whose_message_was_never_sent_is_swept_by_the_price_update_and_filled(
    mode: str,
    order_queue: OrderQueueHarness,
    binance_fake: BinanceFake,
    monkeypatch: pytest.MonkeyPatch,
    ledger: ChaosLedger,
) -> None:
    user_id, token = register_and_login("trader@example.com")
    if mode == "live":
        store_key(token)
    set_prices(**{symbol: str(price) for symbol, price in binance_fake.prices.items()})
    restore = with_queue_down(monkeypatch, order_queue)
    trade = placed(token, MARKET_BUY)  # accepted: the trade is committed before the send
    restore()
    assert order_queue.depth() == 0
    ledger.fault("order message lost (queue unavailable)")

    time.sleep(SWEEP_AFTER_S + 0.2)
    report = price_update()
    order_queue.drain()

    assert report["swept"] == 1
    assert get_trade(token, trade["id"])["status"] == "FILLED"
    if mode == "live":
        assert [p["newClientOrderId"] for p in binance_fake.placed_orders] == [
            trade["client_order_id"]
        ]
    else:
        with unit_of_work() as session:
            books = check_books(session, [user_id], fee_rate=get_settings().paper_fee_rate)
        assert books.balanced, books.problems
    assert price_update()["swept"] == 0  # done: nothing left to sweep


@pytest.mark.usefixtures("sweep_soon")
def test_a_trade_whose_executor_died_holding_the_claim_is_swept_after_the_lease(
    order_queue: OrderQueueHarness,
    binance_fake: BinanceFake,
    ledger: ChaosLedger,
) -> None:
    _, token = register_and_login("trader@example.com")
    store_key(token)
    set_prices(**{symbol: str(price) for symbol, price in binance_fake.prices.items()})
    trade = placed(token, MARKET_BUY)
    (message,) = order_queue.receive()
    order_queue.sqs.delete_message(
        QueueUrl=order_queue.queue.url, ReceiptHandle=message["ReceiptHandle"]
    )  # the message is gone too (say it went to the dead-letter queue)
    with pytest.raises(RuntimeError, match="killed"):
        executor(DiesAfterPlacing).execute(OrderMessage(trade_id=trade["id"]))
    ledger.fault("executor died holding the claim, message gone")

    time.sleep(SWEEP_AFTER_S + 0.2)
    assert price_update()["swept"] == 0  # the claim's lease (2 s) is not over: it may be alive
    time.sleep(2.0)
    report = price_update()
    order_queue.drain()

    assert report["swept"] == 1
    recorded = get_trade(token, trade["id"])
    assert recorded["status"] == "FILLED"
    assert len(binance_fake.placed_orders) == 1
    assert len(binance_fake.requests_to("POST", ORDER_PATH)) == 1
    assert recorded["exchange_order_id"] == str(
        binance_fake.orders[trade["client_order_id"]]["orderId"]
    )


@pytest.mark.usefixtures("sweep_soon")
def test_a_cancel_whose_message_was_never_sent_is_swept_and_releases_the_funds(
    order_queue: OrderQueueHarness,
    monkeypatch: pytest.MonkeyPatch,
    ledger: ChaosLedger,
) -> None:
    user_id, token = register_and_login("trader@example.com")
    set_prices(BTCUSDT="95000.00")
    resting = {"symbol": "BTCUSDT", "side": "BUY", "type": "LIMIT", "quantity": "0.001",
               "price": "76000"}  # fmt: skip
    trade = placed(token, resting)
    Executor(sleep=lambda _s: None).execute(OrderMessage(trade_id=trade["id"]))
    order_queue.drain()
    assert get_trade(token, trade["id"])["status"] == "NEW"

    restore = with_queue_down(monkeypatch, order_queue)
    assert call("trades_cancel", token=token, path_params={"trade_id": trade["id"]}).status == 202
    restore()
    ledger.fault("cancel message lost (queue unavailable)")
    assert get_trade(token, trade["id"])["status"] == "NEW"

    time.sleep(SWEEP_AFTER_S + 0.2)
    report = price_update()
    order_queue.drain()

    assert report["swept"] == 1
    assert get_trade(token, trade["id"])["status"] == "CANCELED"
    with unit_of_work() as session:
        books = check_books(session, [user_id], fee_rate=get_settings().paper_fee_rate)
    assert books.balanced, books.problems
