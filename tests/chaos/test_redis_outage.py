"""Redis goes away: prices (Redis is their only source) are 503, /health says degraded with the
cache down, rate limiting fails open, writes stay correct because the read-through cache falls
back to the database, and when Redis is back everything works again in the same process."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Any

import pytest
from tradebot.cache.client import get_redis
from tradebot.exchange.snapshot import load_snapshot_filters

from devstack.functions import load_function
from devstack.lambda_events import FakeLambdaContext, scheduled_event
from tests.chaos.conftest import ChaosLedger, Services
from tests.chaos.routes import route_calls
from tests.support import Reply, assert_problem, call, configure
from tests.trading_support import set_prices

pytestmark = pytest.mark.chaos
User = tuple[str, str]

WRITE_LIMIT = 5
LIMIT_BUY = {"symbol": "BTCUSDT", "side": "BUY", "type": "LIMIT", "quantity": "0.001",
             "price": "90000"}  # fmt: skip
MARKET_BUY = {"symbol": "BTCUSDT", "side": "BUY", "type": "MARKET", "quantity": "0.001"}


@pytest.fixture
def trader(chaos_trader: User, monkeypatch: pytest.MonkeyPatch) -> User:
    """The trader, with a write limit low enough to reach and prices in the cache."""
    limits = json.dumps({"read": 10_000, "write": WRITE_LIMIT, "auth": 10_000})
    configure(monkeypatch, rate_limits=limits)
    set_prices(BTCUSDT="95000.00", ETHUSDT="3400.00")
    return chaos_trader


def timed(send: Callable[[], Reply], bound_s: float, what: str) -> Reply:
    started = time.monotonic()
    reply = send()
    elapsed = time.monotonic() - started
    assert elapsed < bound_s, f"{what} took {elapsed:.2f}s with Redis down"
    return reply


def note(token: str, title: str) -> Reply:
    return call("notes_create", token=token, body={"title": title})


def run_price_update() -> dict[str, Any]:
    handler = load_function("price_updater").handler
    result: dict[str, Any] = handler(
        scheduled_event("arn:aws:events:us-east-1:000000000000:rule/chaos"),
        FakeLambdaContext(function_name="price_updater"),
    )
    return result


def assert_degraded_as_documented(token: str, bound_s: float) -> int:
    """Every route once with Redis unusable; returns how many requests were made."""
    for route in route_calls():
        reply = timed(lambda r=route: r.send(token), bound_s, route.function)  # type: ignore[misc]
        if route.function in ("market_prices", "market_price", "market_price_history"):
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
            assert reply.status < 500, (route.function, reply.raw_body)
    # Writes: the limiter fails open, and each write is read back at once from the database.
    titles = [f"written without Redis {i}" for i in range(WRITE_LIMIT + 2)]
    for title in titles:
        assert timed(lambda t=title: note(token, t), bound_s, "a note").status == 201  # type: ignore[misc]
    listed = timed(lambda: call("notes_list", token=token, query={"limit": "100"}), bound_s, "list")
    assert listed.status == 200
    assert set(titles) <= {n["title"] for n in listed.body["items"]}
    # A LIMIT order carries its own price and is accepted; a MARKET order needs the market's.
    limit = timed(lambda: call("trades_create", token=token, body=LIMIT_BUY), bound_s, "limit")
    assert limit.status == 202, limit.raw_body
    canceled = call("trades_cancel", token=token, path_params={"trade_id": limit.body["id"]})
    assert (canceled.status, canceled.body["status"]) == (202, "CANCELED")
    market = timed(lambda: call("trades_create", token=token, body=MARKET_BUY), bound_s, "market")
    assert_problem(market, 503)
    dashboard = timed(lambda: call("dashboard", token=token), bound_s, "dashboard")
    assert dashboard.status == 200
    return len(route_calls()) + len(titles) + 5


def assert_limiter_on(token: str, used: int = 0) -> None:
    """The write limit holds: `used` writes of this window so far, the rest until the 429."""
    left = WRITE_LIMIT - used
    statuses = [note(token, f"limited {i}").status for i in range(left + 1)]
    assert statuses == [201] * left + [429]


@pytest.mark.usefixtures("binance_fake")  # storing a key asks Binance first
def test_redis_stopped_degrades_as_documented_and_recovers_without_restart(
    services: Services, trader: User, ledger: ChaosLedger
) -> None:
    _, token = trader
    assert_limiter_on(token)
    client = get_redis()

    services.redis.stop()
    ledger.fault("redis killed")
    requests = assert_degraded_as_documented(token, bound_s=2.0)
    ledger.figure(f"redis killed: {requests} requests answered as documented, then recovered")

    services.redis.start()  # a replacement node: empty
    assert get_redis() is client  # the same client in the same process reconnects
    assert call("market_prices", token=token).body == {"items": []}
    symbols = len(load_snapshot_filters())
    assert run_price_update()["prices"] == symbols
    prices = call("market_prices", token=token)
    assert prices.status == 200
    assert len(prices.body["items"]) == symbols
    assert call("health").body["status"] == "healthy"
    assert call("trades_create", token=token, body=MARKET_BUY).status == 202
    assert call("dashboard", token=token).status == 200
    assert_limiter_on(token, used=1)  # counting again from zero: the new node has no counters


@pytest.mark.usefixtures("binance_fake")  # storing a key asks Binance first
def test_redis_frozen_degrades_within_bounds_and_recovers(
    services: Services, trader: User, ledger: ChaosLedger
) -> None:
    _, token = trader
    assert call("notes_list", token=token).status == 200  # cached

    services.redis.freeze()
    ledger.fault("redis frozen (SIGSTOP)")
    started = time.monotonic()
    try:
        # Each Redis call gives up after REDIS_TIMEOUT_S (0.5 s); a placement makes four (the
        # limiter, filters, the price, the invalidation): about 2 s.
        requests = assert_degraded_as_documented(token, bound_s=4.0)
    finally:
        services.redis.thaw()
    frozen_for = time.monotonic() - started
    ledger.figure(f"redis frozen: {requests} requests answered in {frozen_for:.1f}s")

    assert call("health").body["cache"] == "ok"
    assert call("market_prices", token=token).status == 200
    # A write now invalidates the cache again, so the list is current.
    assert note(token, "after the freeze").status == 201
    listed = call("notes_list", token=token, query={"limit": "100"})
    titles = {n["title"] for n in listed.body["items"]}
    assert "after the freeze" in titles
    assert "written without Redis 0" in titles
