"""The trading routes as a client sees them: idempotency, validation, isolation, listing, cancel."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import update
from tradebot.db.engine import unit_of_work
from tradebot.db.models import Trade
from tradebot.orders.schemas import TradeCreate
from tradebot.orders.service import place_trade

from tests.fakes.binance_server import BinanceFake
from tests.support import assert_problem, call, error_fields
from tests.trading_support import (
    D,
    OrderQueueHarness,
    balances,
    cancel,
    get_trade,
    new_trader,
    place,
    placed,
    run_concurrently,
    set_prices,
    store_key,
    trade_rows,
)

User = tuple[str, str]
MARKET_BUY = {"symbol": "BTCUSDT", "side": "BUY", "type": "MARKET", "quantity": "0.001"}


@pytest.fixture(autouse=True)
def market_prices() -> None:
    set_prices(BTCUSDT="95000.00", ETHUSDT="3400.00", DOGEUSDT="0.32000")


def limit_buy(quantity: str = "0.01", price: str = "90000") -> dict[str, Any]:
    return {
        "symbol": "BTCUSDT",
        "side": "BUY",
        "type": "LIMIT",
        "quantity": quantity,
        "price": price,
    }


def only_error(reply: Any, field: str) -> str:
    """Assert a 422 whose errors name exactly `field`; return that error's message."""
    problem = assert_problem(reply, 422)
    assert error_fields(reply) == [field], problem
    message: str = problem["errors"][0]["message"]
    return message


# --- idempotency ----------------------------------------------------------------------------


def test_the_same_idempotency_key_and_body_return_the_same_trade_and_queue_one_message(
    order_queue: OrderQueueHarness, trader: User
) -> None:
    user_id, token = trader

    first = place(token, MARKET_BUY, idempotency_key="order-2026-11-25-001")
    again = place(token, MARKET_BUY, idempotency_key="order-2026-11-25-001")

    assert (first.status, again.status) == (202, 202)
    assert again.body == first.body
    assert len(trade_rows(user_id)) == 1
    assert [json.loads(body) for body in order_queue.bodies()] == [
        {"trade_id": first.body["id"], "action": "place"}
    ]


def test_the_same_idempotency_key_with_another_body_is_409(
    order_queue: OrderQueueHarness, trader: User
) -> None:
    user_id, token = trader
    place(token, MARKET_BUY, idempotency_key="key-1")

    reply = place(token, {**MARKET_BUY, "quantity": "0.002"}, idempotency_key="key-1")

    problem = assert_problem(reply, 409)
    assert "Idempotency-Key" in problem["detail"]
    assert len(trade_rows(user_id)) == 1
    assert order_queue.depth() == 1


def test_two_simultaneous_requests_with_one_idempotency_key_make_one_trade(
    order_queue: OrderQueueHarness, trader: User
) -> None:
    user_id, _ = trader
    body = TradeCreate.model_validate(MARKET_BUY)
    ids: list[str] = []

    outcomes = run_concurrently(
        lambda: ids.append(place_trade(user_id, body, "same-key").id),
        lambda: ids.append(place_trade(user_id, body, "same-key").id),
    )

    assert outcomes == [None, None]
    assert len(set(ids)) == 1
    assert len(trade_rows(user_id)) == 1
    assert order_queue.depth() == 1


def test_a_new_traders_first_orders_at_the_same_moment_are_all_accepted() -> None:
    # The first order funds the paper account; two "first" orders must not collide doing it.
    for n in range(8):
        user_id, _ = new_trader(f"new-{n}@example.com")
        buy = TradeCreate.model_validate(MARKET_BUY)
        resting = TradeCreate.model_validate(limit_buy(price="91000"))

        outcomes = run_concurrently(
            lambda: place_trade(user_id, buy, None),  # noqa: B023 - joined in this iteration
            lambda: place_trade(user_id, resting, None),  # noqa: B023
        )

        assert outcomes == [None, None]
        assert len(trade_rows(user_id)) == 2
        assert balances(user_id) == {"USDT": (D(10000), D(0))}


def test_idempotency_keys_are_per_user(trader: User, other_trader: User) -> None:
    mine = place(trader[1], MARKET_BUY, "shared-key")
    theirs = place(other_trader[1], MARKET_BUY, "shared-key")

    assert (mine.status, theirs.status) == (202, 202)
    assert mine.body["id"] != theirs.body["id"]


def test_without_an_idempotency_key_each_request_is_a_new_trade(trader: User) -> None:
    user_id, token = trader

    placed(token, MARKET_BUY)
    placed(token, MARKET_BUY)

    assert len(trade_rows(user_id)) == 2


# --- validation -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "field", "nearest"),
    [
        (limit_buy(price="95000.005"), "price", "nearest valid: 95000.01"),
        (limit_buy(quantity="9000", price="0.001"), "price", "nearest valid: 0.01"),
        (limit_buy(price="1000001"), "price", "nearest valid: 1000000"),
        (limit_buy(quantity="0.000015"), "quantity", "nearest valid: 0.00002"),
        (limit_buy(quantity="0.000001"), "quantity", "nearest valid: 0.00001"),
        (limit_buy(quantity="9001"), "quantity", "nearest valid: 9000"),
        (
            limit_buy(quantity="0.00005", price="95000"),
            "quantity",
            "nearest valid quantity: 0.00006",
        ),
        ({**MARKET_BUY, "quantity": "0.00005"}, "quantity", "nearest valid quantity: 0.00006"),
        (
            {"symbol": "BTCUSDT", "side": "BUY", "type": "MARKET", "quote_quantity": "4.99"},
            "quote_quantity",
            "nearest valid: 5",
        ),
        (
            {"symbol": "DOGEUSDT", "side": "BUY", "type": "MARKET", "quantity": "20.5"},
            "quantity",
            "nearest valid: 21",
        ),
        (limit_buy(quantity="0.001", price="950000"), "price", "nearest valid: 475000"),
    ],
    ids=[
        "tick-size",
        "min-price",
        "max-price",
        "step-size",
        "min-qty",
        "max-qty",
        "min-notional-limit",
        "min-notional-market",
        "min-notional-quote",
        "step-size-whole-coins",
        "percent-price-by-side",
    ],
)
def test_a_filter_breach_is_422_naming_the_field_and_the_nearest_valid_value(
    trader: User, body: dict[str, Any], field: str, nearest: str
) -> None:
    user_id, token = trader

    message = only_error(place(token, body), field)

    assert nearest in message
    assert trade_rows(user_id) == []


def test_an_unknown_symbol_is_422_naming_symbol(trader: User) -> None:
    message = only_error(place(trader[1], {**MARKET_BUY, "symbol": "FOOUSDT"}), "symbol")

    assert "FOOUSDT" in message


@pytest.mark.parametrize(
    "raw_quantity",
    ['"NaN"', "NaN", '"Infinity"', "Infinity", "-Infinity", '"1e5"', '"1E-3"', '"-0.001"', "-0.001",
     '"0"', "0", '"0.0000000000000000001"', '"0x10"', '" "', "true", '"1,5"'],
)  # fmt: skip
def test_a_malformed_amount_is_refused_naming_the_field(trader: User, raw_quantity: str) -> None:
    user_id, token = trader
    raw = (
        '{"symbol": "BTCUSDT", "side": "BUY", "type": "LIMIT", "price": "90000", '
        f'"quantity": {raw_quantity}}}'
    )

    reply = call("trades_create", token=token, body=raw)

    only_error(reply, "quantity")
    assert trade_rows(user_id) == []


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"symbol": "BTCUSDT", "side": "BUY", "type": "LIMIT", "quantity": "0.01"}, "price"),
        (
            {
                "symbol": "BTCUSDT", "side": "SELL", "type": "STOP_LOSS_LIMIT",
                "quantity": "0.01", "price": "90000",
            },
            "stop_price",
        ),
        ({**limit_buy(), "quote_quantity": "100"}, "quote_quantity"),
        ({**MARKET_BUY, "price": "95000"}, "price"),
        ({**limit_buy(), "stop_price": "91000"}, "stop_price"),
        ({"symbol": "BTCUSDT", "side": "BUY", "type": "MARKET"}, "quantity"),
        ({**MARKET_BUY, "quote_quantity": "100"}, "quantity"),
    ],
    ids=[
        "limit-without-price",
        "stop-without-stop-price",
        "quote-quantity-on-limit",
        "price-on-market",
        "stop-price-on-limit",
        "market-without-amount",
        "market-with-both-amounts",
    ],
)  # fmt: skip
def test_an_incomplete_or_contradictory_order_is_422_naming_the_field(
    trader: User, body: dict[str, Any], field: str
) -> None:
    only_error(place(trader[1], body), field)


@pytest.mark.parametrize(
    ("side", "stop_price", "price"),
    [
        ("SELL", "95000.00", "94000.00"),
        ("SELL", "96000.00", "95500.00"),
        ("BUY", "94000.00", "94500.00"),
    ],
)
def test_a_stop_that_would_trigger_immediately_is_422_naming_stop_price(
    trader: User, side: str, stop_price: str, price: str
) -> None:
    body = {
        "symbol": "BTCUSDT", "side": side, "type": "STOP_LOSS_LIMIT",
        "quantity": "0.01", "price": price, "stop_price": stop_price,
    }  # fmt: skip

    message = only_error(place(trader[1], body), "stop_price")

    assert "95000" in message


@pytest.mark.parametrize(
    ("body", "field"),
    [
        (limit_buy(quantity="0.2", price="95000"), "quantity"),  # 19000 USDT
        ({**MARKET_BUY, "quantity": "0.105"}, "quantity"),  # 9975 plus the 1% market buffer
        ({"symbol": "BTCUSDT", "side": "BUY", "type": "MARKET", "quote_quantity": "10000.01"},
         "quote_quantity"),
        ({"symbol": "BTCUSDT", "side": "SELL", "type": "MARKET", "quantity": "0.001"}, "quantity"),
    ],
    ids=["limit-buy", "market-buy", "quote-buy", "sell-without-coins"],
)  # fmt: skip
def test_an_order_the_free_balance_cannot_cover_is_422(
    trader: User, body: dict[str, Any], field: str
) -> None:
    user_id, token = trader

    message = only_error(place(token, body), field)

    assert "insufficient balance" in message
    assert trade_rows(user_id) == []


def test_a_market_order_without_a_cached_price_is_422_naming_symbol(trader: User) -> None:
    only_error(place(trader[1], {**MARKET_BUY, "symbol": "XRPUSDT", "quantity": "10"}), "symbol")


# --- user isolation -------------------------------------------------------------------------


def test_another_users_trade_is_404_on_get_and_cancel_and_absent_from_their_list(
    trader: User, other_trader: User
) -> None:
    _, token = trader
    _, other_token = other_trader
    trade = placed(token, limit_buy())

    assert_problem(
        call("trades_get", token=other_token, path_params={"trade_id": trade["id"]}), 404
    )
    assert_problem(cancel(other_token, trade["id"]), 404)
    assert call("trades_list", token=other_token).body == {"items": [], "next_cursor": None}
    assert get_trade(token, trade["id"])["status"] == "PENDING"  # untouched by the attempt


def test_a_missing_trade_is_404_like_another_users(trader: User) -> None:
    missing = "00000000-0000-0000-0000-000000000000"

    assert_problem(call("trades_get", token=trader[1], path_params={"trade_id": missing}), 404)
    assert_problem(cancel(trader[1], missing), 404)


def test_trading_routes_need_a_token() -> None:
    assert_problem(call("trades_list"), 401)
    assert_problem(call("trades_create", body=MARKET_BUY), 401)


# --- listing --------------------------------------------------------------------------------


def _restamp(trade_id: str, created_at: datetime, status: str | None = None) -> None:
    values: dict[str, Any] = {"created_at": created_at}
    if status:
        values["status"] = status
    with unit_of_work() as session:
        session.execute(update(Trade).where(Trade.id == trade_id).values(**values))


BASE = datetime(2026, 11, 1, 12, 0, tzinfo=UTC)


@pytest.fixture
def history(trader: User) -> list[dict[str, Any]]:
    """Seven trades an hour apart (two sharing a timestamp), of two symbols and three statuses."""
    _, token = trader
    plan = [
        ("BTCUSDT", 0, "FILLED"),
        ("ETHUSDT", 1, "CANCELED"),
        ("BTCUSDT", 2, "NEW"),
        ("BTCUSDT", 3, "FILLED"),
        ("ETHUSDT", 3, "FILLED"),
        ("BTCUSDT", 4, "PENDING"),
        ("ETHUSDT", 5, "NEW"),
    ]
    trades = []
    for symbol, hour, status in plan:
        body = limit_buy() if symbol == "BTCUSDT" else {**limit_buy(price="3000"), "symbol": symbol}
        trade = placed(token, body)
        _restamp(trade["id"], BASE + timedelta(hours=hour), status)
        trades.append(get_trade(token, trade["id"]))
    return trades


def _newest_first(trades: list[dict[str, Any]]) -> list[str]:
    ordered = sorted(trades, key=lambda t: (t["created_at"], t["id"]), reverse=True)
    return [t["id"] for t in ordered]


def _list(token: str, **query: str) -> list[str]:
    reply = call("trades_list", token=token, query=query)
    assert reply.status == 200, reply.raw_body
    return [t["id"] for t in reply.body["items"]]


def test_trades_are_listed_newest_first(trader: User, history: list[dict[str, Any]]) -> None:
    assert _list(trader[1]) == _newest_first(history)


def test_pages_follow_the_cursor_without_gaps_or_duplicates(
    trader: User, history: list[dict[str, Any]]
) -> None:
    _, token = trader
    seen: list[str] = []
    cursor: str | None = None
    pages = 0
    while True:
        query = {"limit": "2", **({"cursor": cursor} if cursor else {})}
        page = call("trades_list", token=token, query=query).body
        seen += [t["id"] for t in page["items"]]
        pages += 1
        cursor = page["next_cursor"]
        if cursor is None:
            break

    assert seen == _newest_first(history)
    assert pages == 4


def test_a_new_trade_between_pages_does_not_shift_the_next_page(
    trader: User, history: list[dict[str, Any]]
) -> None:
    _, token = trader
    first = call("trades_list", token=token, query={"limit": "3"}).body
    placed(token, limit_buy())  # newest of all: belongs before page one, not in page two

    second = call(
        "trades_list", token=token, query={"limit": "3", "cursor": first["next_cursor"]}
    ).body

    assert [t["id"] for t in first["items"] + second["items"]] == _newest_first(history)[:6]


@pytest.mark.parametrize(
    ("query", "keep"),
    [
        ({"symbol": "ETHUSDT"}, lambda t: t["symbol"] == "ETHUSDT"),
        ({"status": "FILLED"}, lambda t: t["status"] == "FILLED"),
        ({"since": "2026-11-01T15:00:00Z"}, lambda t: t["created_at"] >= "2026-11-01T15:00:00"),
        ({"until": "2026-11-01T15:00:00Z"}, lambda t: t["created_at"] < "2026-11-01T15:00:00"),
        (
            {"symbol": "BTCUSDT", "status": "FILLED", "since": "2026-11-01T01:00:00+00:00",
             "until": "2026-11-01T16:00:00Z"},
            lambda t: t["symbol"] == "BTCUSDT" and t["status"] == "FILLED",
        ),
    ],
    ids=["symbol", "status", "since", "until", "all-together"],
)  # fmt: skip
def test_the_list_filters_by_symbol_status_and_time(
    trader: User, history: list[dict[str, Any]], query: dict[str, str], keep: Any
) -> None:
    expected = _newest_first([t for t in history if keep(t)])

    assert expected
    assert _list(trader[1], **query) == expected


def test_invalid_list_parameters_are_422(trader: User) -> None:
    _, token = trader

    only_error(call("trades_list", token=token, query={"status": "DONE"}), "status")
    only_error(call("trades_list", token=token, query={"limit": "201"}), "limit")
    only_error(call("trades_list", token=token, query={"cursor": "not-a-cursor"}), "cursor")


# --- cancel ---------------------------------------------------------------------------------


def test_canceling_a_pending_trade_is_immediate_and_never_reaches_the_exchange(
    order_queue: OrderQueueHarness, binance_fake: BinanceFake, trader: User
) -> None:
    _, token = trader
    store_key(token)
    trade = placed(token, MARKET_BUY)

    reply = cancel(token, trade["id"])

    assert reply.status == 202
    assert reply.body["status"] == "CANCELED"
    assert reply.body["reason"]
    order_queue.drain()  # the place message still arrives, and finds nothing to do
    assert get_trade(token, trade["id"])["status"] == "CANCELED"
    assert binance_fake.placed_orders == []
    assert [r.path for r in binance_fake.requests if r.path == "/api/v3/order"] == []


def test_canceling_twice_is_409_the_second_time(trader: User) -> None:
    _, token = trader
    trade = placed(token, limit_buy())

    assert cancel(token, trade["id"]).status == 202
    problem = assert_problem(cancel(token, trade["id"]), 409)

    assert "CANCELED" in problem["detail"]
