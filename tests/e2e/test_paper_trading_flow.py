"""The trading flow of the local stack, as a trader clicks through it over HTTP.

Register, see prices move, buy 0.01 BTC on paper and see it FILLED within seconds, see the
dashboard change, rest a limit order far below the market, cancel it.
"""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import httpx
import pytest

from tests.e2e.test_local_stack import Stack, bearer, register_and_login, start_stack, wait_for


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    running = start_stack(tmp_path_factory.mktemp("trading-stack"))
    try:
        running.wait_until_healthy()
        yield running
    finally:
        running.stop()


def _get(api: str, path: str, token: str) -> dict[str, Any]:
    response = httpx.get(f"{api}{path}", headers=bearer(token), timeout=10)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def _status_becomes(api: str, token: str, trade_id: str, wanted: str) -> dict[str, Any]:
    def check() -> dict[str, Any] | None:
        trade = _get(api, f"/api/trading/trades/{trade_id}", token)
        return trade if trade["status"] == wanted else None

    return wait_for(check, 20.0, f"trade {trade_id} to become {wanted}")


def test_a_paper_trader_buys_sees_the_fill_and_the_dashboard_then_cancels_a_resting_order(
    stack: Stack,
) -> None:
    api = stack.api
    _, token = register_and_login(api)
    first = _get(api, "/api/market/prices/BTCUSDT", token)
    moved = wait_for(
        lambda: (
            (p := _get(api, "/api/market/prices/BTCUSDT", token))["updated_at"]
            != first["updated_at"]
            and p
        ),
        20.0,
        "the price updater to move BTCUSDT",
    )
    assert Decimal(moved["price"]) > 0

    buy = httpx.post(
        f"{api}/api/trading/trades",
        json={"symbol": "BTCUSDT", "side": "BUY", "type": "MARKET", "quantity": "0.01"},
        headers=bearer(token),
        timeout=10,
    )
    assert buy.status_code == 202, buy.text
    filled = _status_becomes(api, token, buy.json()["id"], "FILLED")
    assert filled["executed_qty"] == "0.01"
    assert filled["fee_asset"] == "BTC"

    dashboard = _get(api, "/api/dashboard", token)
    balances = {b["asset"]: b for b in dashboard["balances"]}
    assert Decimal(balances["BTC"]["free"]) == Decimal("0.01") - Decimal(filled["fee"])
    assert Decimal(balances["USDT"]["free"]) < Decimal(10000)
    assert [p["symbol"] for p in dashboard["positions"]] == ["BTCUSDT"]
    assert dashboard["trades_total"] == 1

    far_below = (Decimal(moved["price"]) / 2).quantize(Decimal("0.01"))
    limit = httpx.post(
        f"{api}/api/trading/trades",
        json={
            "symbol": "BTCUSDT",
            "side": "BUY",
            "type": "LIMIT",
            "quantity": "0.001",
            "price": str(far_below),
        },
        headers=bearer(token),
        timeout=10,
    )
    assert limit.status_code == 202, limit.text
    _status_becomes(api, token, limit.json()["id"], "NEW")
    locked = {b["asset"]: b for b in _get(api, "/api/dashboard", token)["balances"]}
    assert Decimal(locked["USDT"]["locked"]) == Decimal("0.001") * far_below

    cancel = httpx.delete(
        f"{api}/api/trading/trades/{limit.json()['id']}", headers=bearer(token), timeout=10
    )
    assert cancel.status_code == 202, cancel.text
    _status_becomes(api, token, limit.json()["id"], "CANCELED")
    released = {b["asset"]: b for b in _get(api, "/api/dashboard", token)["balances"]}
    assert Decimal(released["USDT"]["locked"]) == 0
