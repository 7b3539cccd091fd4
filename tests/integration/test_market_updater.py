"""The price updater (simulated market, resting orders, the sweeper) and the market routes."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime
from decimal import Decimal

import pytest
from tradebot.cache.client import get_redis, key
from tradebot.exchange.snapshot import load_snapshot_filters, reference_prices
from tradebot.market.prices import (
    PRICE_TIMES,
    PRICES,
    STALE_AFTER_S,
    UPDATED_AT,
    last_update,
    read_price,
    read_prices,
    write_prices,
)
from tradebot.market.simulated import SimulatedMarket
from tradebot.market.updater import refresh_prices
from tradebot.orders.executor import Executor
from tradebot.orders.messages import OrderMessage
from tradebot.settings import get_settings

from devstack.lambda_events import scheduled_event
from tests.support import assert_problem, call, configure, invoke
from tests.trading_support import (
    D,
    FixedSource,
    OrderQueueHarness,
    cancel,
    get_trade,
    placed,
    set_prices,
)

User = tuple[str, str]
SYMBOLS = sorted(load_snapshot_filters())
SWEEP_AFTER_S = 60  # PENDING_SWEEP_AFTER_S's default


def cached() -> dict[str, Decimal]:
    return {p.symbol: p.price for p in read_prices()}


# --- the simulated market -------------------------------------------------------------------


def test_simulated_prices_are_the_seeded_random_walk_step_by_step() -> None:
    market = SimulatedMarket(42, reference_prices())
    filters = load_snapshot_filters()

    refresh_prices()
    first = cached()
    refresh_prices()
    second = cached()

    assert first == market.step({}, 1, filters)
    assert second == market.step(first, 2, filters)
    assert first != second


def test_the_same_seed_gives_the_same_prices_and_another_seed_other_prices(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    refresh_prices()
    seeded = cached()

    _forget_prices()  # a fresh start with the same seed
    refresh_prices()
    again = cached()
    configure(monkeypatch, simulated_market_seed="7")
    _forget_prices()
    refresh_prices()
    other = cached()

    assert again == seeded
    assert other != seeded
    assert sorted(other) == SYMBOLS


def _forget_prices() -> None:
    redis = get_redis()
    redis.delete(*(key(*parts) for parts in (PRICES, PRICE_TIMES, UPDATED_AT, ("market", "tick"))))


def test_every_tracked_symbol_is_written_on_its_tick_size_with_its_timestamp() -> None:
    at = 1_795_000_000.5

    report = refresh_prices(now=at)

    prices = read_prices(now=at)
    filters = load_snapshot_filters()
    assert report.prices == len(SYMBOLS) == len(reference_prices())
    assert len(SYMBOLS) >= 50
    assert [p.symbol for p in prices] == SYMBOLS
    for price in prices:
        assert price.updated_at == datetime.fromtimestamp(at, UTC)
        assert price.stale is False
        assert price.price > 0
        assert price.price % filters[price.symbol].tick_size == 0
    assert last_update(now=at) == (at, False)


def test_a_price_older_than_180_seconds_is_stale() -> None:
    at = time.time()
    refresh_prices(now=at)

    assert read_price("BTCUSDT", now=at + STALE_AFTER_S).stale is False
    assert read_price("BTCUSDT", now=at + STALE_AFTER_S + 1).stale is True
    assert last_update(now=at + STALE_AFTER_S + 1) == (at, True)


def test_the_price_updater_function_reports_what_it_did() -> None:
    result = invoke("price_updater", scheduled_event())

    assert result == {"prices": len(SYMBOLS), "triggered": 0, "swept": 0}
    assert sorted(cached()) == SYMBOLS


# --- the market routes ----------------------------------------------------------------------


def test_market_prices_lists_every_cached_price_as_decimal_strings(trader: User) -> None:
    at = time.time()
    refresh_prices(now=at)
    expected = cached()

    reply = call("market_prices", token=trader[1])

    assert reply.status == 200
    items = reply.body["items"]
    assert [i["symbol"] for i in items] == SYMBOLS
    for item in items:
        assert isinstance(item["price"], str)
        assert D(item["price"]) == expected[item["symbol"]]
        assert "E" not in item["price"]
        assert item["updated_at"].endswith("Z")
        assert item["stale"] is False


def test_market_price_returns_one_symbol_and_marks_a_stale_one(trader: User) -> None:
    write_prices({"ETHUSDT": D("3456.78")}, at=time.time() - STALE_AFTER_S - 5)

    reply = call("market_price", token=trader[1], path_params={"symbol": "ETHUSDT"})

    assert reply.status == 200
    assert reply.body["symbol"] == "ETHUSDT"
    assert reply.body["price"] == "3456.78"
    assert reply.body["stale"] is True


def test_market_price_is_404_for_an_unknown_symbol_or_one_without_a_price(trader: User) -> None:
    set_prices(BTCUSDT="95000")

    unknown = assert_problem(
        call("market_price", token=trader[1], path_params={"symbol": "FOOUSDT"}), 404
    )
    assert "FOOUSDT" in unknown["detail"]
    assert_problem(call("market_price", token=trader[1], path_params={"symbol": "ETHUSDT"}), 404)


def test_market_symbols_lists_the_filters_as_decimal_strings(trader: User) -> None:
    reply = call("market_symbols", token=trader[1])

    assert reply.status == 200
    items = {item["symbol"]: item for item in reply.body["items"]}
    assert sorted(items) == SYMBOLS
    assert items["BTCUSDT"] == {
        "symbol": "BTCUSDT",
        "base_asset": "BTC",
        "quote_asset": "USDT",
        "tick_size": "0.01",
        "step_size": "0.00001",
        "min_qty": "0.00001",
        "min_notional": "5",
        "max_qty": "9000",
        "min_price": "0.01",
        "max_price": "1000000",
        "max_notional": "9000000",
        "apply_min_to_market": True,
        "apply_max_to_market": False,
        "market_min_qty": "0",
        "market_max_qty": "86.60698795",
        "market_step_size": "0",
        "bid_multiplier_up": "5",
        "bid_multiplier_down": "0.2",
        "ask_multiplier_up": "5",
        "ask_multiplier_down": "0.2",
        "max_num_orders": 200,
        "quote_precision": 8,
    }
    assert items["DOGEUSDT"]["step_size"] == "1"
    assert items["DOGEUSDT"]["min_qty"] == "1"


def test_market_routes_need_a_token() -> None:
    for function in ("market_prices", "market_symbols"):
        assert_problem(call(function), 401)


# --- resting orders and the sweeper ---------------------------------------------------------


def test_each_update_that_crosses_a_resting_order_sends_its_own_sync_message(
    order_queue: OrderQueueHarness, trader: User
) -> None:
    _, token = trader
    set_prices(BTCUSDT="95000.00")
    trade = placed(
        token,
        {"symbol": "BTCUSDT", "side": "BUY", "type": "LIMIT", "quantity": "0.01", "price": "94000"},
    )
    order_queue.drain()
    now = time.time()

    refresh_prices(FixedSource(BTCUSDT="93000"), now=now)
    (first,) = order_queue.receive()
    set_prices(BTCUSDT="95000.00")  # the price moved back before the executor ran: no fill
    Executor().execute(OrderMessage.model_validate_json(first["Body"]))
    order_queue.sqs.delete_message(
        QueueUrl=order_queue.queue.url, ReceiptHandle=first["ReceiptHandle"]
    )
    refresh_prices(FixedSource(BTCUSDT="93000"), now=now + 5)  # the next update, same minute
    (second,) = order_queue.receive()

    assert json.loads(first["Body"]) == json.loads(second["Body"])
    # SQS drops a FIFO message whose deduplication id it saw in the last five minutes: the
    # second crossing must not reuse the first one's.
    assert (
        first["Attributes"]["MessageDeduplicationId"]
        != second["Attributes"]["MessageDeduplicationId"]
    )
    assert get_trade(token, trade["id"])["status"] == "NEW"


def test_an_order_whose_sync_is_in_flight_gets_no_other_until_the_queue_would_have_given_up(
    order_queue: OrderQueueHarness, trader: User
) -> None:
    # Given a resting order the update crosses, and its sync message not processed yet
    _, token = trader
    set_prices(BTCUSDT="95000.00")
    trade = placed(
        token,
        {"symbol": "BTCUSDT", "side": "BUY", "type": "LIMIT", "quantity": "0.01", "price": "94000"},
    )
    order_queue.drain()
    now = time.time()
    first = refresh_prices(FixedSource(BTCUSDT="93000"), now=now)

    # When the next updates cross it again while that message is in flight
    in_flight = refresh_prices(FixedSource(BTCUSDT="93000"), now=now + 60)
    bound = get_settings().sync_in_flight_s
    still = refresh_prices(FixedSource(BTCUSDT="93000"), now=now + bound - 1)
    # and once it can no longer be (the queue gave it up: lost, or dead-lettered)
    later = refresh_prices(FixedSource(BTCUSDT="93000"), now=now + bound + 1)

    # Then one message while it is in flight, another only after that
    assert (first.triggered, in_flight.triggered, still.triggered, later.triggered) == (1, 0, 0, 1)
    order_queue.drain()
    assert get_trade(token, trade["id"])["status"] == "FILLED"


def test_a_pending_trade_whose_message_was_never_sent_is_swept_and_executed(
    order_queue: OrderQueueHarness, trader: User, monkeypatch: pytest.MonkeyPatch
) -> None:
    _, token = trader
    set_prices(BTCUSDT="95000.00")
    url = order_queue.queue.url
    configure(monkeypatch, order_queue_url="")  # the queue is unreachable when it is placed
    trade = placed(
        token, {"symbol": "BTCUSDT", "side": "BUY", "type": "MARKET", "quantity": "0.001"}
    )
    configure(monkeypatch, order_queue_url=url)
    assert order_queue.depth() == 0

    young = refresh_prices(FixedSource(BTCUSDT="95000.00"))
    assert young.swept == 0

    later = refresh_prices(FixedSource(BTCUSDT="95000.00"), now=time.time() + SWEEP_AFTER_S + 1)
    assert later.swept == 1
    assert [json.loads(b) for b in order_queue.bodies()] == [
        {"trade_id": trade["id"], "action": "place"}
    ]
    order_queue.drain()

    assert get_trade(token, trade["id"])["status"] == "FILLED"


def test_a_pending_trade_whose_message_was_lost_is_swept_once_old_enough(
    order_queue: OrderQueueHarness, trader: User
) -> None:
    _, token = trader
    set_prices(BTCUSDT="95000.00")
    trade = placed(
        token, {"symbol": "BTCUSDT", "side": "BUY", "type": "MARKET", "quantity": "0.001"}
    )
    for message in order_queue.receive():  # lost: deleted without being executed
        order_queue.sqs.delete_message(
            QueueUrl=order_queue.queue.url, ReceiptHandle=message["ReceiptHandle"]
        )

    report = refresh_prices(FixedSource(BTCUSDT="95000.00"), now=time.time() + SWEEP_AFTER_S + 1)
    order_queue.drain()

    assert report.swept == 1
    assert get_trade(token, trade["id"])["status"] == "FILLED"


def test_a_cancel_whose_message_was_lost_is_sent_again_by_the_sweeper(
    order_queue: OrderQueueHarness, trader: User
) -> None:
    _, token = trader
    set_prices(BTCUSDT="95000.00")
    trade = placed(
        token,
        {"symbol": "BTCUSDT", "side": "BUY", "type": "LIMIT", "quantity": "0.01", "price": "94000"},
    )
    order_queue.drain()

    assert cancel(token, trade["id"]).status == 202
    for message in order_queue.receive():
        order_queue.sqs.delete_message(
            QueueUrl=order_queue.queue.url, ReceiptHandle=message["ReceiptHandle"]
        )

    report = refresh_prices(FixedSource(BTCUSDT="95000.00"), now=time.time() + SWEEP_AFTER_S + 1)
    order_queue.drain()

    assert report.swept == 1
    assert get_trade(token, trade["id"])["status"] == "CANCELED"
