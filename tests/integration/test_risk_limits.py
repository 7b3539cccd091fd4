"""Risk limits and the kill switch (OWASP API6): each limit at its boundary and just past it,
pausing and unpausing, and concurrent orders that must not overshoot `max_open_orders`."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import update
from tradebot.auth.passwords import hash_password
from tradebot.db.engine import unit_of_work
from tradebot.db.models import Trade, User, utcnow

from tests.support import Reply, assert_problem, call, closed_port, configure, error_fields
from tests.trading_support import (
    D,
    cancel,
    lift_limits,
    new_trader,
    place,
    placed,
    run_concurrently,
    set_prices,
    trade_rows,
)

Account = tuple[str, str]
PASSWORD = "correct horse battery staple"
LIMIT_EXCEEDED = "urn:tradebot:problem:limit-exceeded"


def limit_buy(price: str, quantity: str = "0.01") -> dict[str, Any]:
    return {
        "symbol": "BTCUSDT",
        "side": "BUY",
        "type": "LIMIT",
        "quantity": quantity,
        "price": price,
    }


def limits(token: str) -> dict[str, Any]:
    reply = call("limits_get", token=token)
    assert reply.status == 200, reply.raw_body
    body: dict[str, Any] = reply.body
    return body


def put_limits(token: str, **body: Any) -> Reply:
    return call("limits_put", token=token, body=body)


def refused_by(reply: Reply, limit: str) -> str:
    """Assert a 422 limit-exceeded naming `limit`; return its message."""
    problem = assert_problem(reply, 422)
    assert problem["type"] == LIMIT_EXCEEDED
    assert error_fields(reply) == [limit]
    message: str = problem["errors"][0]["message"]
    return message


@pytest.fixture(autouse=True)
def market_prices() -> None:
    set_prices(BTCUSDT="95000.00", ETHUSDT="3400.00")


@pytest.fixture
def account() -> Account:
    """A trader with a real password, for the step-up: (user id, token)."""
    user_id, token = new_trader("limits@example.com")
    with unit_of_work() as session:
        session.execute(
            update(User).where(User.id == user_id).values(password_hash=hash_password(PASSWORD))
        )
    return user_id, token


# --- reading them ---------------------------------------------------------------------------


def test_a_user_who_set_no_limits_has_the_safe_defaults(trader: Account) -> None:
    assert limits(trader[1]) == {
        "max_open_orders": 20,
        "max_orders_per_minute": 10,
        "max_order_notional": "1000",
        "max_daily_notional": "5000",
        "trading_paused": False,
    }


def test_the_defaults_come_from_the_settings(
    trader: Account, monkeypatch: pytest.MonkeyPatch
) -> None:
    configure(monkeypatch, default_max_open_orders="7", default_max_order_notional="250.5")

    body = limits(trader[1])

    assert (body["max_open_orders"], body["max_order_notional"]) == (7, "250.5")


# --- each limit at its boundary and just past it --------------------------------------------


def test_an_order_at_max_order_notional_is_accepted_and_just_past_it_is_422(
    trader: Account,
) -> None:
    user_id, token = trader
    lift_limits(user_id, max_order_notional=D("900"))

    placed(token, limit_buy("90000"))  # 0.01 x 90000 = 900
    message = refused_by(place(token, limit_buy("90000.01")), "max_order_notional")

    assert "900.0001" in message
    assert len(trade_rows(user_id)) == 1


def test_a_market_order_is_valued_at_the_market_price_or_its_quote_quantity(
    trader: Account,
) -> None:
    user_id, token = trader
    lift_limits(user_id, max_order_notional=D("95"))
    market = {"symbol": "BTCUSDT", "side": "BUY", "type": "MARKET"}

    placed(token, {**market, "quantity": "0.001"})  # 0.001 x 95000 = 95
    placed(token, {**market, "quote_quantity": "95"})
    refused_by(place(token, {**market, "quantity": "0.00101"}), "max_order_notional")
    refused_by(place(token, {**market, "quote_quantity": "95.01"}), "max_order_notional")


def test_orders_up_to_max_daily_notional_are_accepted_and_one_past_it_is_422(
    trader: Account,
) -> None:
    user_id, token = trader
    lift_limits(user_id, max_daily_notional=D("1000"))

    placed(token, limit_buy("60000"))  # 600
    placed(token, limit_buy("40000"))  # 1000 in the day: at the limit
    message = refused_by(place(token, limit_buy("40000", quantity="0.001")), "max_daily_notional")

    assert "1000" in message


def test_the_daily_notional_forgets_orders_older_than_a_day_and_never_placed_ones(
    trader: Account,
) -> None:
    user_id, token = trader
    yesterday = placed(token, limit_buy("90000"))
    canceled = placed(token, limit_buy("90000"))
    assert cancel(token, canceled["id"]).status == 202  # canceled before it was placed
    rejected = placed(token, limit_buy("90000"))
    with unit_of_work() as session:
        session.execute(
            update(Trade)
            .where(Trade.id == yesterday["id"])
            .values(created_at=utcnow() - timedelta(hours=24, seconds=1))
        )
        session.execute(update(Trade).where(Trade.id == rejected["id"]).values(status="REJECTED"))
    lift_limits(user_id, max_daily_notional=D("1000"))

    placed(token, limit_buy("100000"))  # 1000: nothing else counts today


def test_orders_accepted_before_notionals_were_recorded_count_their_price(
    trader: Account,
) -> None:
    # Given a limit order of 900 and a market order that traded 50.5, both from before the
    # notional column (NULL there)
    user_id, token = trader
    resting = placed(token, limit_buy("90000"))
    market = placed(token, limit_buy("90000"))
    with unit_of_work() as session:
        session.execute(update(Trade).where(Trade.id == resting["id"]).values(notional=None))
        session.execute(
            update(Trade)
            .where(Trade.id == market["id"])
            .values(notional=None, type="MARKET", price=None, cumulative_quote_qty=D("50.5"))
        )
    lift_limits(user_id, max_daily_notional=D("1850.5"))

    # Then they count 950.5: 900 more fits exactly, and nothing more does
    placed(token, limit_buy("90000"))
    message = refused_by(place(token, limit_buy("90000", quantity="0.001")), "max_daily_notional")
    assert "1850.5 traded" in message


def test_orders_up_to_max_open_orders_are_accepted_and_one_more_is_422(trader: Account) -> None:
    user_id, token = trader
    lift_limits(user_id, max_open_orders=3)
    first = placed(token, limit_buy("90000", quantity="0.001"))
    for _ in range(2):
        placed(token, limit_buy("90000", quantity="0.001"))

    message = refused_by(place(token, limit_buy("90000", quantity="0.001")), "max_open_orders")

    assert "3" in message
    assert cancel(token, first["id"]).status == 202  # no longer open: room for one more
    placed(token, limit_buy("90000", quantity="0.001"))


def test_orders_up_to_max_orders_per_minute_are_accepted_and_one_more_is_429_with_retry_after(
    trader: Account,
) -> None:
    user_id, token = trader
    lift_limits(user_id, max_orders_per_minute=3)
    for _ in range(3):
        placed(token, limit_buy("90000", quantity="0.001"))

    reply = place(token, limit_buy("90000", quantity="0.001"))

    assert_problem(reply, 429)
    assert 1 <= int(reply.headers["retry-after"]) <= 60
    assert len(trade_rows(user_id)) == 3
    with unit_of_work() as session:  # a minute later
        session.execute(
            update(Trade)
            .where(Trade.user_id == user_id)
            .values(created_at=utcnow() - timedelta(seconds=61))
        )
    placed(token, limit_buy("90000", quantity="0.001"))


def test_with_redis_down_the_database_still_bounds_orders_and_cancels_go_through(
    trader: Account, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given the per-user request limiter's Redis unreachable (it fails open)
    user_id, token = trader
    lift_limits(user_id, max_orders_per_minute=2)
    first = placed(token, limit_buy("90000", quantity="0.001"))
    configure(monkeypatch, redis_url=f"redis://127.0.0.1:{closed_port()}/0")

    # When the trader keeps ordering
    statuses = [place(token, limit_buy("90000", quantity="0.001")).status for _ in range(3)]

    # Then the database limit still refuses past it, and cancels still go through
    assert statuses == [202, 429, 429]
    assert len(trade_rows(user_id)) == 2
    assert cancel(token, first["id"]).status == 202
    assert call("trades_cancel_all", token=token).status == 202


# --- changing them --------------------------------------------------------------------------


def test_lowering_a_limit_needs_no_password_and_applies_at_once(account: Account) -> None:
    _, token = account
    placed(token, limit_buy("90000", quantity="0.001"))

    reply = put_limits(token, max_open_orders=1, max_order_notional="50.5")

    assert reply.status == 200, reply.raw_body
    assert reply.body["max_open_orders"] == 1
    assert reply.body["max_order_notional"] == "50.5"
    assert reply.body["max_orders_per_minute"] == 10  # left as it was
    refused_by(place(token, limit_buy("90000", quantity="0.0005")), "max_open_orders")


@pytest.mark.parametrize(
    "change",
    [
        {"max_open_orders": 21},
        {"max_orders_per_minute": 11},
        {"max_order_notional": "1000.01"},
        {"max_daily_notional": "5001"},
    ],
)
def test_raising_a_limit_needs_the_password(account: Account, change: dict[str, Any]) -> None:
    _, token = account

    assert_problem(put_limits(token, **change), 401)
    assert_problem(put_limits(token, **change, password="not the password at all"), 401)
    assert limits(token)["max_open_orders"] == 20  # nothing changed

    reply = put_limits(token, **change, password=PASSWORD)

    assert reply.status == 200, reply.raw_body
    name, value = next(iter(change.items()))
    assert reply.body[name] == value


def test_a_request_that_lowers_one_limit_and_raises_another_needs_the_password(
    account: Account,
) -> None:
    _, token = account

    assert_problem(put_limits(token, max_open_orders=5, max_orders_per_minute=50), 401)

    assert limits(token)["max_open_orders"] == 20


def test_pausing_stops_new_orders_at_once_but_not_cancels(account: Account) -> None:
    user_id, token = account
    open_order = placed(token, limit_buy("90000", quantity="0.001"))
    other = placed(token, limit_buy("90000", quantity="0.001"))

    reply = put_limits(token, trading_paused=True)

    assert reply.status == 200, reply.raw_body
    assert reply.body["trading_paused"] is True
    problem = assert_problem(place(token, limit_buy("90000", quantity="0.001")), 409)
    assert problem["type"] == "urn:tradebot:problem:trading-paused"
    assert cancel(token, open_order["id"]).status == 202
    cancel_all = call("trades_cancel_all", token=token)
    assert (cancel_all.status, cancel_all.body["canceled"]) == (202, 1), cancel_all.raw_body
    assert {t.id: t.status for t in trade_rows(user_id)} == {
        open_order["id"]: "CANCELED",
        other["id"]: "CANCELED",
    }


def test_unpausing_needs_the_password(account: Account) -> None:
    _, token = account
    assert put_limits(token, trading_paused=True).status == 200

    assert_problem(put_limits(token, trading_paused=False), 401)
    assert_problem(put_limits(token, trading_paused=False, password="wrong password 123"), 401)
    assert_problem(place(token, limit_buy("90000", quantity="0.001")), 409)

    assert put_limits(token, trading_paused=False, password=PASSWORD).status == 200
    placed(token, limit_buy("90000", quantity="0.001"))


def test_pausing_twice_or_setting_a_limit_to_its_value_needs_no_password(
    account: Account,
) -> None:
    _, token = account
    assert put_limits(token, trading_paused=True).status == 200

    reply = put_limits(token, trading_paused=True, max_open_orders=20)

    assert reply.status == 200, reply.raw_body


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"max_open_orders": 0}, "max_open_orders"),
        ({"max_open_orders": -1}, "max_open_orders"),
        ({"max_open_orders": "5"}, "max_open_orders"),
        ({"max_open_orders": True}, "max_open_orders"),
        ({"max_open_orders": 2.5}, "max_open_orders"),
        ({"max_orders_per_minute": 100_001}, "max_orders_per_minute"),
        ({"max_order_notional": "0"}, "max_order_notional"),
        ({"max_order_notional": "-5"}, "max_order_notional"),
        ({"max_order_notional": "1e3"}, "max_order_notional"),
        ({"max_daily_notional": "NaN"}, "max_daily_notional"),
        ({"max_daily_notional": None}, "max_daily_notional"),
        ({"trading_paused": "yes"}, "trading_paused"),
        ({"trading_paused": None}, "trading_paused"),
        ({"max_exposure": "5"}, "max_exposure"),
    ],
)
def test_a_bad_value_is_422_naming_the_field_and_changes_nothing(
    trader: Account, body: dict[str, Any], field: str
) -> None:
    _, token = trader

    reply = put_limits(token, **body)

    assert_problem(reply, 422)
    assert error_fields(reply) == [field]
    assert limits(token)["max_open_orders"] == 20


# --- concurrency ----------------------------------------------------------------------------


# The limits row lock (SELECT ... FOR UPDATE) is what is raced; SQLite runs one write at a time.
@pytest.mark.postgres
@pytest.mark.parametrize(
    "stored", [True, False], ids=["stored-limit", "default-row-created-in-race"]
)
def test_concurrent_orders_never_overshoot_max_open_orders(
    trader: Account, monkeypatch: pytest.MonkeyPatch, stored: bool
) -> None:
    configure(monkeypatch, db_pool="null")  # a connection per thread, as separate Lambdas have
    user_id, token = trader
    admitted, attempts = 3, 12
    if stored:
        lift_limits(user_id, max_open_orders=admitted)
    else:  # no row yet: every request creates it at once, and all must lock the same one
        configure(monkeypatch, default_max_open_orders=str(admitted))
    # One request first: the threads then share the clients it creates (cached per process)
    # instead of racing to create them and closing each other's connections.
    limits(token)
    replies: list[Reply] = []

    def order() -> None:
        asyncio.set_event_loop(asyncio.new_event_loop())  # Mangum runs on the thread's loop
        replies.append(place(token, limit_buy("90000", quantity="0.001")))

    outcomes = run_concurrently(*[order] * attempts)

    assert outcomes == [None] * attempts
    statuses = sorted(reply.status for reply in replies)
    assert statuses == [202] * admitted + [422] * (attempts - admitted), [
        r.raw_body for r in replies
    ]
    for reply in replies:
        if reply.status == 422:
            refused_by(reply, "max_open_orders")
    assert len(trade_rows(user_id)) == admitted


def test_changing_limits_and_pausing_are_security_events_refused_changes_are_not(
    account: Account,
) -> None:
    _, token = account
    assert put_limits(token, max_open_orders=5, trading_paused=True).status == 200
    assert put_limits(token, max_open_orders=50).status == 401  # raising needs the password

    reply = call("account_events", token=token)

    assert reply.status == 200, reply.raw_body
    kinds = {event["type"]: event["detail"] for event in reply.body["items"]}
    assert kinds == {
        "trading_paused": "paused",
        "limits_changed": "max_open_orders 20 -> 5",
    }
