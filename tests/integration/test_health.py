"""GET /health: healthy with fresh prices, degraded without or while Binance is backed off, 503
when the database is down."""

from __future__ import annotations

import time

import pytest
from sqlalchemy import event
from tradebot.cache.client import get_redis, key
from tradebot.db.engine import get_engine
from tradebot.exchange.weight import RequestBudget
from tradebot.health.service import PRICES_UPDATED_AT, STALE_AFTER_S

from tests.support import call, closed_port, configure


def _prices_updated(seconds_ago: float) -> None:
    get_redis().set(key(*PRICES_UPDATED_AT), str(time.time() - seconds_ago))


def test_healthy_when_prices_were_updated_recently() -> None:
    _prices_updated(seconds_ago=30)

    reply = call("health")

    assert reply.status == 200
    assert reply.body == {
        "status": "healthy",
        "database": "ok",
        "cache": "ok",
        "exchange": "ok",
        "exchange_backoff_s": None,
    }


def test_degraded_when_prices_were_never_updated() -> None:
    reply = call("health")

    assert reply.status == 200
    assert reply.body == {
        "status": "degraded",
        "database": "ok",
        "cache": "ok",
        "exchange": "unknown",
        "exchange_backoff_s": None,
    }


def test_degraded_when_prices_are_stale() -> None:
    _prices_updated(seconds_ago=STALE_AFTER_S + 60)

    reply = call("health")

    assert reply.status == 200
    assert reply.body["status"] == "degraded"
    assert reply.body["exchange"] == "stale"


def test_degraded_with_the_seconds_left_while_another_function_backs_off_binance() -> None:
    _prices_updated(seconds_ago=30)
    RequestBudget().observe({"Retry-After": "42"}, status=429, code=-1003)  # another Lambda

    reply = call("health")

    assert reply.status == 200
    assert reply.body["status"] == "degraded"
    assert reply.body["exchange"] == "ok"
    assert reply.body["exchange_backoff_s"] in (41, 42)  # rounded up; a second may have passed


def test_healthy_again_once_the_back_off_is_over() -> None:
    _prices_updated(seconds_ago=30)
    RequestBudget(clock=lambda: time.time() - 60).back_off(30)  # ended 30 s ago

    reply = call("health")

    assert reply.body["status"] == "healthy"
    assert reply.body["exchange_backoff_s"] is None


def test_503_with_database_down_quickly_when_the_database_is_unreachable(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    _prices_updated(seconds_ago=1)
    url = f"postgresql://postgres@127.0.0.1:{closed_port()}/tradebot"
    configure(monkeypatch, database_url=url)

    failed_connects: list[object] = []  # the engine reports each failed connect once
    event.listen(get_engine(), "handle_error", failed_connects.append)

    reply = call("health")

    assert reply.status == 503
    assert reply.body["status"] == "degraded"
    assert reply.body["database"] == "down"
    assert reply.body["cache"] == "ok"
    # Quickly: one refused connection, no retry and no wait (how long it takes with a server
    # that is stopped or frozen is measured by `make chaos`).
    assert len(failed_connects) == 1
