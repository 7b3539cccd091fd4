"""Fast outage checks for `make test`: the database or Redis unreachable (nothing listens on their
port), every route called once. The slow tests in this folder stop real servers mid-traffic."""

from __future__ import annotations

import json
import time
from typing import Any

import pytest

from tests.chaos.routes import RouteCall, route_calls
from tests.support import assert_problem, call, closed_port, configure, register_and_login
from tests.trading_support import placed, set_prices

User = tuple[str, str]
# A refused connection is answered at once; this bound leaves room for a slow CI machine.
REFUSED_BOUND_S = 2.0
# Routes that never touch the database (static filters, prices from Redis).
NO_DATABASE = {"market_symbols", "market_prices", "market_price", "market_price_history"}
# Redis is the only source of prices.
PRICES = {"market_prices", "market_price", "market_price_history"}


def filled_market_buy(token: str) -> dict[str, Any]:
    """A paper MARKET buy of 0.001 BTC, placed and executed (so the user holds a position)."""
    from tradebot.orders.executor import Executor
    from tradebot.orders.messages import OrderMessage

    trade = placed(
        token, {"symbol": "BTCUSDT", "side": "BUY", "type": "MARKET", "quantity": "0.001"}
    )
    Executor(sleep=lambda _s: None).execute(OrderMessage(trade_id=trade["id"]))
    return trade


@pytest.fixture
def user() -> User:
    user_id, token = register_and_login()
    set_prices(BTCUSDT="95000.00")
    return user_id, token


def test_with_the_database_unreachable_every_route_that_needs_it_is_a_quick_503_problem(
    monkeypatch: pytest.MonkeyPatch, user: User
) -> None:
    _, token = user
    configure(monkeypatch, database_url=f"postgresql://postgres@127.0.0.1:{closed_port()}/tb")

    for route in route_calls():
        started = time.monotonic()
        reply = route.send(token)
        elapsed = time.monotonic() - started

        assert elapsed < REFUSED_BOUND_S, f"{route.function} took {elapsed:.2f}s"
        if route.function == "health":
            assert reply.status == 503
            assert (reply.body["status"], reply.body["database"]) == ("degraded", "down")
        elif route.function in NO_DATABASE:
            assert reply.status == 200, (route.function, reply.raw_body)
        else:
            body = assert_problem(reply, 503)
            assert "database" in body["detail"].lower(), (route.function, body)


@pytest.mark.usefixtures("binance_fake")  # storing a key asks Binance about it first
def test_with_redis_unreachable_only_prices_are_503_and_health_says_the_cache_is_down(
    monkeypatch: pytest.MonkeyPatch, user: User
) -> None:
    _, token = user
    trade = filled_market_buy(token)  # the dashboard then reads the position's last price
    configure(monkeypatch, redis_url=f"redis://127.0.0.1:{closed_port()}/0")

    for route in route_calls(trade_id=trade["id"]):
        started = time.monotonic()
        reply = route.send(token)
        elapsed = time.monotonic() - started

        assert elapsed < REFUSED_BOUND_S, f"{route.function} took {elapsed:.2f}s"
        if route.function in PRICES:
            assert "unavailable" in assert_problem(reply, 503)["detail"]
        elif route.function == "health":
            assert reply.status == 200
            assert reply.body == {
                "status": "degraded",
                "database": "ok",
                "cache": "down",
                "exchange": "unknown",
                "exchange_backoff_s": None,
            }
        else:
            assert reply.status < 500, (route.function, reply.status, reply.raw_body)


def test_with_redis_unreachable_a_dashboard_with_positions_shows_them_without_prices(
    monkeypatch: pytest.MonkeyPatch, user: User
) -> None:
    _, token = user
    filled_market_buy(token)
    configure(monkeypatch, redis_url=f"redis://127.0.0.1:{closed_port()}/0")

    reply = call("dashboard", token=token)

    assert reply.status == 200, reply.raw_body
    (position,) = reply.body["positions"]
    assert position["symbol"] == "BTCUSDT"
    assert position["last_price"] is None
    assert position["unrealized_pnl"] is None


def test_with_redis_unreachable_a_limit_order_is_accepted_and_a_market_order_is_503(
    monkeypatch: pytest.MonkeyPatch, user: User
) -> None:
    _, token = user
    configure(monkeypatch, redis_url=f"redis://127.0.0.1:{closed_port()}/0")
    limit = {"symbol": "BTCUSDT", "side": "BUY", "type": "LIMIT", "quantity": "0.001",
             "price": "90000"}  # fmt: skip
    market = {"symbol": "BTCUSDT", "side": "BUY", "type": "MARKET", "quantity": "0.001"}

    accepted = call("trades_create", token=token, body=limit)
    refused = call("trades_create", token=token, body=market)

    assert accepted.status == 202, accepted.raw_body
    assert accepted.body["status"] == "PENDING"
    assert "prices are unavailable" in assert_problem(refused, 503)["detail"].lower()
    canceled = call("trades_cancel", token=token, path_params={"trade_id": accepted.body["id"]})
    assert canceled.status == 202, canceled.raw_body
    assert canceled.body["status"] == "CANCELED"


def test_with_redis_unreachable_rate_limiting_fails_open(
    monkeypatch: pytest.MonkeyPatch, user: User
) -> None:
    _, token = user
    limits = json.dumps({"read": 2, "write": 2, "auth": 2})
    configure(monkeypatch, rate_limits=limits)
    note = RouteCall("notes_create", body={"title": "limited"})
    statuses = [note.send(token).status for _ in range(3)]
    assert statuses == [201, 201, 429]  # the limiter is on while Redis answers

    configure(monkeypatch, rate_limits=limits, redis_url=f"redis://127.0.0.1:{closed_port()}/0")
    statuses = [note.send(token).status for _ in range(5)]

    assert statuses == [201] * 5


def test_with_redis_unreachable_note_writes_are_read_back_at_once(
    monkeypatch: pytest.MonkeyPatch, user: User
) -> None:
    _, token = user
    configure(monkeypatch, redis_url=f"redis://127.0.0.1:{closed_port()}/0")

    first = call("notes_create", token=token, body={"title": "first"})
    second = call("notes_create", token=token, body={"title": "second"})
    pinned = call(
        "notes_update",
        token=token,
        path_params={"note_id": first.body["id"]},
        body={"is_pinned": True},
    )
    listed = call("notes_list", token=token)

    assert (first.status, second.status, pinned.status, listed.status) == (201, 201, 200, 200)
    assert [n["title"] for n in listed.body["items"]] == ["first", "second"]
    assert listed.body["items"][0]["is_pinned"] is True
