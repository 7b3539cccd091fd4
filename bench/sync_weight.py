"""Binance request weight of one sync minute for 10 live users, before and after per-user sync.

`python -m bench.sync_weight`. Each user holds 3 resting LIMIT orders on 2 symbols (2 on BTCUSDT,
1 on ETHUSDT) on the Binance fake, a real HTTP server that records every request. The weight of a
minute is counted from those requests with Binance's documented weights (spot REST API), as
the fake charges them (tests/fakes/binance_limits.py): GET /api/v3/order 4, GET
/api/v3/openOrders 6 with a symbol and 80 without, GET /api/v3/myTrades 5 with an orderId.
Before: the updater's old way, one trade-level sync (one look-up) per open order. After: the
updater's messages now, one user-level sync each. Two minutes each: a quiet one (nothing
changed on Binance) and one in which one BTCUSDT order of every user filled.
"""

from __future__ import annotations

import logging
import os
import sys
import tempfile
from collections.abc import Callable
from decimal import Decimal
from typing import Any

USERS = 10
ORDERS = [("BTCUSDT", "94000"), ("BTCUSDT", "93000"), ("ETHUSDT", "3300")]


def weight(method: str, path: str, params: dict[str, str]) -> int:
    """Binance's documented request weight of one spot REST request, as the fake charges it."""
    from tests.fakes.binance_limits import request_weight

    return request_weight(method, path, params)


def _environment(directory: str) -> None:
    os.environ.update(
        {
            "APP_ENV": "test",
            "DATABASE_URL": f"sqlite:///{directory}/sync_weight.db",
            "REDIS_URL": "",
            "ORDER_QUEUE_URL": "",
        }
    )


def _setup(fake: Any) -> list[str]:
    """USERS live users with their orders resting on the fake; returns their user ids."""
    from pydantic import TypeAdapter
    from tradebot.accounts.schemas import ApiKeyCreate
    from tradebot.accounts.service import store_api_key
    from tradebot.db.engine import unit_of_work
    from tradebot.db.models import User
    from tradebot.market.prices import write_prices
    from tradebot.orders.executor import Executor
    from tradebot.orders.messages import OrderMessage
    from tradebot.orders.schemas import TradeCreate
    from tradebot.orders.service import place_trade

    from tests.trading_support import API_KEY, API_SECRET

    fake.set_balance("USDT", "1000000")
    write_prices({symbol: Decimal(price) for symbol, price in fake.prices.items()})
    executor = Executor(sleep=lambda _s: None)
    creates: TypeAdapter[Any] = TypeAdapter(TradeCreate)
    users = []
    for n in range(USERS):
        with unit_of_work() as session:
            user = User(email=f"sync{n}@example.com", password_hash="!unusable")  # noqa: S106
            session.add(user)
            session.flush()
            user_id = user.id
            key = ApiKeyCreate.model_validate(
                {"api_key": API_KEY, "api_secret": API_SECRET, "testnet": True}
            )
            store_api_key(session, user_id, key)
        for symbol, price in ORDERS:
            quantity = "0.001" if symbol == "BTCUSDT" else "0.01"
            body = creates.validate_python(
                {"symbol": symbol, "side": "BUY", "type": "LIMIT", "quantity": quantity,
                 "price": price}
            )  # fmt: skip
            trade = place_trade(user_id, body, None)  # no queue: placed below, in-process
            executor.execute(OrderMessage(trade_id=trade.id, action="place"))
        users.append(user_id)
    return users


def _minute(fake: Any, send: Callable[[], None]) -> int:
    fake.requests.clear()
    send()
    return sum(weight(r.method, r.path, r.params) for r in fake.requests)


def measure(old_way: bool) -> tuple[int, int]:
    """(quiet minute, minute with one fill per user) on a fresh database and Binance fake."""
    from sqlalchemy import select
    from tradebot.db.engine import unit_of_work
    from tradebot.db.migrate import upgrade
    from tradebot.db.models import Trade
    from tradebot.market.updater import crossed_orders
    from tradebot.orders.executor import Executor
    from tradebot.orders.messages import OrderMessage
    from tradebot.orders.state import OPEN

    from tests.conftest import reset_caches
    from tests.fakes.binance_server import BinanceFake
    from tests.trading_support import API_KEY, API_SECRET

    executor = Executor(sleep=lambda _s: None)
    prices = {"BTCUSDT": Decimal(95000), "ETHUSDT": Decimal(3400)}
    with tempfile.TemporaryDirectory() as directory, BinanceFake(API_KEY, API_SECRET) as fake:
        _environment(directory)
        os.environ["BINANCE_BASE_URL"] = fake.base_url
        reset_caches()
        upgrade()
        _setup(fake)

        def before() -> None:  # the old updater: one trade-level sync per open live order
            with unit_of_work() as session:
                trade_ids = list(
                    session.scalars(select(Trade.id).where(Trade.status.in_(list(OPEN))))
                )
            for trade_id in trade_ids:
                executor.execute(OrderMessage(trade_id=trade_id, action="sync"))

        def after() -> None:  # the updater now: one sync_user per live user
            for message, _ in crossed_orders(prices):
                executor.execute(message)

        sync = before if old_way else after
        quiet = _minute(fake, sync)
        with unit_of_work() as session:
            rows = session.execute(
                select(Trade.user_id, Trade.client_order_id).where(
                    Trade.status == "NEW", Trade.symbol == "BTCUSDT"
                )
            ).all()
        filled: set[str] = set()
        for user_id, client_id in rows:  # one BTCUSDT order of each user fills on Binance
            if user_id not in filled:
                fake.fill_resting(client_id)
                filled.add(user_id)
        return quiet, _minute(fake, sync)


def main() -> None:
    logging.disable(logging.CRITICAL)
    results = {"before": measure(old_way=True), "after": measure(old_way=False)}
    print(f"{USERS} users x 3 open LIMIT orders (2 BTCUSDT, 1 ETHUSDT): request weight a minute")
    print(f"  {'':8} {'quiet':>6} {'one fill per user':>18}")
    for name, (quiet, fill) in results.items():
        print(f"  {name:8} {quiet:6} {fill:18}")
    sys.stdout.flush()


if __name__ == "__main__":
    main()
