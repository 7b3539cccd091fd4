"""Binance request weight of one sync minute for 10 live users, three ways the updater has synced.

`python -m bench.sync_weight`. Each user holds 3 resting LIMIT orders on 2 symbols (2 on BTCUSDT,
1 on ETHUSDT) on the Binance fake, a real HTTP server that records every request. The weight of a
minute is counted from those requests with Binance's documented weights (spot REST API), as
the fake charges them (tests/fakes/binance_limits.py): GET /api/v3/order 4, GET
/api/v3/openOrders 6 with a symbol and 80 without, GET /api/v3/myTrades 5 with an orderId,
GET /api/v3/klines 2. Rows: one trade-level sync (one look-up) per open order; one user-level
sync per live user every minute; a user-level sync only for users the market reached an order
of, or who are due a full sync (the updater now, klines included). Two minutes each: a quiet
one (nothing traded at any order's price) and one in which one BTCUSDT order of every user
filled. The ticker (weight 4 a minute) is the same in every row and not counted.
"""

from __future__ import annotations

import logging
import os
import sys
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
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
    from tradebot.accounts.keycheck import CheckedKey
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
            store_api_key(session, user_id, key, CheckedKey(None, ["read", "spot"]))
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


@dataclass(frozen=True)
class Minutes:
    """Request weight of each minute measured."""

    quiet: int
    fill: int  # one BTCUSDT order of every user filled
    after_fill: int  # the next update, in the same minute: its candle still shows the fills
    full: int  # every user synced in full (never synced yet, or due)


def measure(way: str) -> Minutes:
    """The minutes' weights on a fresh database and Binance fake, the updater syncing `way`:
    "order", "user" or "reached". Minutes follow one another at once (the fake's candles are
    stamped in real time)."""
    from sqlalchemy import select
    from tradebot.db.engine import unit_of_work
    from tradebot.db.migrate import upgrade
    from tradebot.db.models import Trade
    from tradebot.market.live_sync import write_marks
    from tradebot.market.updater import BinanceSource, crossed_orders
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
        users = _setup(fake)

        def per_order() -> None:  # one trade-level sync per open live order
            with unit_of_work() as session:
                trade_ids = list(
                    session.scalars(select(Trade.id).where(Trade.status.in_(list(OPEN))))
                )
            for trade_id in trade_ids:
                executor.execute(OrderMessage(trade_id=trade_id, action="sync"))

        def per_user() -> None:  # one sync_user per live user, every minute
            for user_id in users:
                executor.execute(OrderMessage(action="sync_user", user_id=user_id))

        def when_reached() -> None:  # the updater now: what it sends, and its klines
            # Real time: the fake's candles are stamped with it.
            requests = crossed_orders(prices, BinanceSource(), datetime.now(UTC))
            for message, _ in requests.messages:
                executor.execute(message)
            write_marks(requests.live.marks)

        sync = {"order": per_order, "user": per_user, "reached": when_reached}[way]
        # The first minute: users never synced are synced in full, as every live_full_sync_s.
        full = _minute(fake, sync)
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
        fill = _minute(fake, sync)
        return Minutes(quiet=quiet, fill=fill, after_fill=_minute(fake, sync), full=full)


ROWS = {
    "order": "one look-up per order",
    "user": "per-user listings",
    "reached": "per-user listings, only when reached",
}


def main() -> None:
    logging.disable(logging.CRITICAL)
    results = {way: measure(way) for way in ROWS}
    full_sync_s = int(os.environ.get("LIVE_FULL_SYNC_S", "600"))
    print(f"{USERS} users x 3 open LIMIT orders (2 BTCUSDT, 1 ETHUSDT): request weight a minute")
    print(f"  {'':38} {'quiet':>6} {'one fill per user':>18} {'full sync':>10}")
    for way, label in ROWS.items():
        row = results[way]
        print(f"  {label:38} {row.quiet:6} {row.fill:18} {row.full:10}")
    gated = results["reached"]
    minutes = full_sync_s // 60
    print(
        f"  only when reached, quiet: one full-sync minute every {full_sync_s} s, "
        f"{(gated.quiet * (minutes - 1) + gated.full) / minutes:.1f} a minute on average"
    )
    print(
        "  only when reached, the next update in the same minute (its 1m candle still shows the "
        f"fills, but the filled orders are closed): {gated.after_fill}"
    )
    sys.stdout.flush()


if __name__ == "__main__":
    main()
