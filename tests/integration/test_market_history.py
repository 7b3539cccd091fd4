"""GET /api/market/prices/{symbol}/history: the updater's chart points, bounded to a day."""

from __future__ import annotations

import time
from datetime import UTC, datetime

import pytest
from tradebot.cache.client import get_redis, key
from tradebot.market.history import max_points, read_history, record_history
from tradebot.market.updater import refresh_prices

from tests.support import assert_problem, call, configure
from tests.trading_support import D, FixedSource

User = tuple[str, str]
STEP_S = 60  # PRICE_HISTORY_STEP_S's default
DAY_S = 24 * 3600


def history(token: str, symbol: str = "BTCUSDT", **query: str) -> list[dict[str, str]]:
    reply = call(
        "market_price_history", token=token, path_params={"symbol": symbol}, query=query or None
    )
    assert reply.status == 200, reply.raw_body
    items: list[dict[str, str]] = reply.body["items"]
    return items


def test_each_update_adds_a_point_that_the_route_gives_as_a_decimal_string(trader: User) -> None:
    start = time.time() - 10 * STEP_S
    for n, price in enumerate(["95000.10", "95100", "94999.99"]):
        refresh_prices(FixedSource(BTCUSDT=price, ETHUSDT="3000"), now=start + n * STEP_S)

    items = history(trader[1])

    assert [item["price"] for item in items] == ["95000.1", "95100", "94999.99"]
    times = [datetime.fromisoformat(item["t"]) for item in items]
    assert times == sorted(times)
    assert items[0]["t"].endswith("Z")
    assert times[0] == datetime.fromtimestamp(int(start), UTC)


def test_updates_within_one_step_keep_only_the_first_point(trader: User) -> None:
    start = (time.time() // STEP_S) * STEP_S - 5 * STEP_S
    refresh_prices(FixedSource(BTCUSDT="100"), now=start)
    refresh_prices(FixedSource(BTCUSDT="101"), now=start + 5)  # the local stack's 5 s updates
    refresh_prices(FixedSource(BTCUSDT="102"), now=start + STEP_S)

    assert [item["price"] for item in history(trader[1])] == ["100", "102"]


def test_the_1h_window_holds_the_last_hour_and_24h_the_whole_day(trader: User) -> None:
    now = time.time()
    for minutes_ago in (23 * 60, 90, 59, 1):
        record_history({"BTCUSDT": D(str(minutes_ago))}, at=now - minutes_ago * 60)

    assert [i["price"] for i in history(trader[1], window="1h")] == ["59", "1"]
    assert [i["price"] for i in history(trader[1])] == ["59", "1"]  # 1h is the default
    assert [i["price"] for i in history(trader[1], window="24h")] == ["1380", "90", "59", "1"]


def test_the_history_is_capped_at_a_day_of_points_and_expires() -> None:
    now = time.time()
    cap = max_points(STEP_S)
    for n in range(cap + 30):
        record_history({"BTCUSDT": D(n + 1)}, at=now - (cap + 30 - n) * STEP_S)

    series = key("prices", "history", "BTCUSDT")
    assert get_redis().llen(series) == cap
    assert 0 < get_redis().ttl(series) <= DAY_S
    points = read_history("BTCUSDT", "24h", now=now)
    assert len(points) <= cap
    assert all(now - p.t.timestamp() <= DAY_S for p in points)


def test_a_shorter_step_keeps_more_points_for_the_same_day(monkeypatch: pytest.MonkeyPatch) -> None:
    configure(monkeypatch, price_history_step_s="10")
    now = time.time()
    for n in range(12):
        record_history({"ETHUSDT": D("3000") + n}, at=now - 120 + n * 10)

    assert len(read_history("ETHUSDT", "1h", now=now)) == 12
    assert max_points(10) == DAY_S // 10 + 1


def test_a_listed_symbol_without_points_is_an_empty_list(trader: User) -> None:
    assert history(trader[1], symbol="ethusdt") == []


def test_an_unknown_symbol_is_404_and_a_bad_window_422(trader: User) -> None:
    unknown = call("market_price_history", token=trader[1], path_params={"symbol": "FOOUSDT"})
    assert "FOOUSDT" in assert_problem(unknown, 404)["detail"]

    bad = call(
        "market_price_history",
        token=trader[1],
        path_params={"symbol": "BTCUSDT"},
        query={"window": "7d"},
    )
    problem = assert_problem(bad, 422)
    assert [e["field"] for e in problem["errors"]] == ["window"]


def test_history_needs_a_token() -> None:
    reply = call("market_price_history", path_params={"symbol": "BTCUSDT"})
    assert_problem(reply, 401)
