"""POST /api/trading/cancel-all: every order of the caller that may be open, paper or live,
canceled at once or through the executor; never refused with a 429."""

from __future__ import annotations

import json
from typing import Any

import pytest
from sqlalchemy import update
from tradebot.db.engine import unit_of_work
from tradebot.db.models import Trade, utcnow

from tests.fakes.binance_server import BinanceFake
from tests.support import Reply, assert_problem, call, configure
from tests.trading_support import (
    ORDER_PATH,
    STARTING_USDT,
    D,
    OrderQueueHarness,
    balances,
    get_trade,
    placed,
    set_prices,
    store_key,
    trade_row,
)

User = tuple[str, str]
MARKET_BUY = {"symbol": "BTCUSDT", "side": "BUY", "type": "MARKET", "quantity": "0.001"}


def limit_buy(price: str = "90000", quantity: str = "0.01") -> dict[str, Any]:
    return {
        "symbol": "BTCUSDT",
        "side": "BUY",
        "type": "LIMIT",
        "quantity": quantity,
        "price": price,
    }


def cancel_all(token: str) -> Reply:
    return call("trades_cancel_all", token=token)


def resting(queue: OrderQueueHarness, token: str, body: dict[str, Any]) -> dict[str, Any]:
    """Place an order and run the executor once: it rests on the (paper or live) book."""
    trade = placed(token, body)
    queue.drain()
    opened = get_trade(token, trade["id"])
    assert opened["status"] == "NEW", opened
    return opened


def cancel_messages(queue: OrderQueueHarness) -> list[str]:
    return [
        message["trade_id"]
        for message in map(json.loads, queue.bodies())
        if message["action"] == "cancel"
    ]


def set_columns(trade_id: str, **values: Any) -> None:
    """Put a trade where a test needs it (claimed by an executor, RECONCILING)."""
    with unit_of_work() as session:
        session.execute(update(Trade).where(Trade.id == trade_id).values(**values))


@pytest.fixture(autouse=True)
def market_prices() -> None:
    set_prices(BTCUSDT="95000.00", ETHUSDT="3400.00")


# --- paper ----------------------------------------------------------------------------------


def test_cancel_all_cancels_queued_paper_orders_at_once_and_open_ones_through_the_executor(
    order_queue: OrderQueueHarness, trader: User
) -> None:
    # Given a paper order resting on the book and another still queued
    user_id, token = trader
    open_order = resting(order_queue, token, limit_buy("90000"))
    queued = placed(token, limit_buy("89000"))
    assert balances(user_id)["USDT"] == (STARTING_USDT - 900, D(900))

    # When the trader cancels everything
    reply = cancel_all(token)

    # Then both count; the queued one is CANCELED at once, the open one gets a cancel message
    assert reply.status == 202, reply.raw_body
    assert reply.body == {"canceled": 2, "reconciling": 0}
    assert get_trade(token, queued["id"])["status"] == "CANCELED"
    assert get_trade(token, open_order["id"])["status"] == "NEW"
    assert trade_row(open_order["id"]).cancel_requested_at is not None
    assert cancel_messages(order_queue) == [open_order["id"]]
    # And once the executor has run, nothing is open and nothing is locked
    order_queue.drain()
    assert get_trade(token, open_order["id"])["status"] == "CANCELED"
    assert get_trade(token, queued["id"])["status"] == "CANCELED"
    assert balances(user_id)["USDT"] == (STARTING_USDT, D(0))


def test_cancel_all_with_nothing_open_is_202_and_zero(trader: User) -> None:
    _, token = trader

    reply = cancel_all(token)

    assert reply.status == 202
    assert reply.body == {"canceled": 0, "reconciling": 0}


def test_cancel_all_leaves_finished_orders_and_other_users_orders_alone(
    order_queue: OrderQueueHarness, trader: User, other_trader: User
) -> None:
    _, token = trader
    _, other_token = other_trader
    filled = placed(token, MARKET_BUY)
    order_queue.drain()
    assert get_trade(token, filled["id"])["status"] == "FILLED"
    theirs = placed(other_token, limit_buy())

    reply = cancel_all(token)

    assert reply.body == {"canceled": 0, "reconciling": 0}
    assert get_trade(token, filled["id"])["status"] == "FILLED"
    assert get_trade(other_token, theirs["id"])["status"] == "PENDING"


def test_cancel_all_reads_no_body_so_naming_another_user_cancels_only_the_callers_orders(
    trader: User, other_trader: User
) -> None:
    other_id, other_token = other_trader
    theirs = placed(other_token, limit_buy())

    reply = call("trades_cancel_all", token=trader[1], body={"user_id": other_id})

    assert reply.body == {"canceled": 0, "reconciling": 0}
    assert get_trade(other_token, theirs["id"])["status"] == "PENDING"


def test_an_order_being_placed_gets_its_cancel_requested_and_a_reconciling_one_is_left_alone(
    order_queue: OrderQueueHarness, trader: User
) -> None:
    # Given one order an executor has claimed, and one whose placement answer was lost
    _, token = trader
    claimed = placed(token, limit_buy("90000"))
    set_columns(claimed["id"], claimed_at=utcnow(), claimed_by="another-executor")
    unknown = placed(token, limit_buy("89000"))
    set_columns(unknown["id"], status="RECONCILING", claimed_at=utcnow())

    reply = cancel_all(token)

    # Then the claimed one counts with its cancel requested (the next attempt honours it before
    # placing; should this one place it, its cancel message, queued behind, cancels it); the
    # RECONCILING one is reported apart and untouched
    assert reply.body == {"canceled": 1, "reconciling": 1}
    being_placed = trade_row(claimed["id"])
    assert (being_placed.status, being_placed.cancel_requested_at is not None) == (
        "PENDING",
        True,
    )
    left = trade_row(unknown["id"])
    assert (left.status, left.cancel_requested_at) == ("RECONCILING", None)
    assert cancel_messages(order_queue) == [claimed["id"]]


# --- live -----------------------------------------------------------------------------------


@pytest.fixture
def live_trader(order_queue: OrderQueueHarness, binance_fake: BinanceFake, trader: User) -> User:
    _, token = trader
    store_key(token)
    set_prices(**{symbol: str(price) for symbol, price in binance_fake.prices.items()})
    return trader


def test_cancel_all_sends_one_cancel_message_per_open_live_order_and_binance_cancels_them(
    order_queue: OrderQueueHarness, binance_fake: BinanceFake, live_trader: User
) -> None:
    # Given two live orders resting on Binance and a third still queued
    _, token = live_trader
    first = resting(order_queue, token, limit_buy("90000", "0.001"))
    second = resting(order_queue, token, limit_buy("89000", "0.001"))
    queued = placed(token, MARKET_BUY)

    reply = cancel_all(token)

    # Then all three count: the queued one never reaches Binance, the open ones are canceled
    # there through the executor, from one batch of messages
    assert reply.status == 202, reply.raw_body
    assert reply.body == {"canceled": 3, "reconciling": 0}
    assert sorted(cancel_messages(order_queue)) == sorted([first["id"], second["id"]])
    order_queue.drain()
    deleted = binance_fake.requests_to("DELETE", ORDER_PATH)
    assert sorted(r.params["origClientOrderId"] for r in deleted) == sorted(
        [first["client_order_id"], second["client_order_id"]]
    )
    for trade in (first, second, queued):
        assert get_trade(token, trade["id"])["status"] == "CANCELED"
    assert [o["newClientOrderId"] for o in binance_fake.placed_orders] == [
        first["client_order_id"],
        second["client_order_id"],
    ]
    assert binance_fake.locked["USDT"] == 0


# --- never rate-limited -----------------------------------------------------------------------


def test_cancel_all_is_not_429_when_the_write_limit_is_exhausted(
    monkeypatch: pytest.MonkeyPatch, order_queue: OrderQueueHarness, trader: User
) -> None:
    # Given a trader who has used up every write of the window
    _, token = trader
    configure(monkeypatch, rate_limits='{"read": 300, "write": 1, "auth": 10}')
    trade = placed(token, limit_buy())
    assert_problem(call("notes_create", token=token, body={"title": "one more"}), 429)

    # When they cancel everything, again and again
    replies = [cancel_all(token) for _ in range(3)]

    # Then every call is served
    assert [r.status for r in replies] == [202, 202, 202]
    assert replies[0].body == {"canceled": 1, "reconciling": 0}
    assert get_trade(token, trade["id"])["status"] == "CANCELED"


def test_the_openapi_document_promises_no_429_for_cancel_all() -> None:
    from tradebot.http.routes import route_named

    from devstack.functions import load_function

    responses = load_function("trades_cancel_all").route.app.openapi()["paths"][
        route_named("trades_cancel_all").path
    ]["post"]["responses"]

    assert "429" not in responses
    assert {"202", "401", "503"} <= set(responses)
