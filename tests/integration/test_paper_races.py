"""A paper cancel racing a paper fill of the same resting order: one of them wins, whole.

The loser must read the order as the winner committed it, not as its session first saw it:
otherwise a cancel unlocks funds the fill has spent (and overwrites FILLED), or a fill spends
funds the cancel has released. Row locks are what is tested, so this runs on PostgreSQL only;
SQLite takes the database's write lock for every transaction and has no FOR UPDATE.

The interleaving is forced with engine events, not by patching the code: the first executor
stops just before its commit (its row locks held) until the second has read the trade, or for
`HOLD_S` when the second cannot read it because it waits for the lock (the fixed behaviour).
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Any, Literal

import pytest
from sqlalchemy import event
from tradebot.db.engine import get_engine
from tradebot.orders.executor import Executor
from tradebot.orders.messages import OrderMessage

from tests.trading_support import (
    STARTING_USDT,
    D,
    balances,
    fee_down,
    placed,
    set_prices,
    trade_row,
)

User = tuple[str, str]
Action = Literal["cancel", "sync"]
HOLD_S = 1.5
LIMIT_BUY = {
    "symbol": "BTCUSDT",
    "side": "BUY",
    "type": "LIMIT",
    "quantity": "0.01",
    "price": "94000",
}
RESERVED = D("0.01") * D(94000)


# Row locks (SELECT ... FOR UPDATE) are what is raced; SQLite runs one write at a time.
pytestmark = pytest.mark.postgres


@pytest.fixture
def resting(trader: User) -> str:
    """A paper LIMIT BUY 0.01 BTC at 94000 resting (940 USDT locked), the price now below it."""
    user_id, token = trader
    set_prices(BTCUSDT="95000.00")
    trade_id = str(placed(token, LIMIT_BUY)["id"])  # no queue here: the executor is run below
    Executor().execute(OrderMessage(trade_id=trade_id, action="place"))
    assert trade_row(trade_id).status == "NEW"
    assert balances(user_id)["USDT"] == (STARTING_USDT - RESERVED, RESERVED)
    set_prices(BTCUSDT="93900.00")  # crossed: a sync fills it at 94000
    return trade_id


@pytest.fixture
def interleaving() -> Iterator[dict[str, threading.Event]]:
    """Thread "first" pauses at its commit until thread "second" has read the trade."""
    engine = get_engine()
    events = {"first_holds_locks": threading.Event(), "second_read": threading.Event()}

    def commit(_conn: Any) -> None:
        if threading.current_thread().name == "first" and not events["first_holds_locks"].is_set():
            events["first_holds_locks"].set()
            events["second_read"].wait(HOLD_S)

    def executed(_conn: Any, _cursor: Any, sql: str, *_args: Any) -> None:
        if threading.current_thread().name == "second" and "FROM trades" in sql:
            events["second_read"].set()

    event.listen(engine, "commit", commit)
    event.listen(engine, "after_cursor_execute", executed)
    try:
        yield events
    finally:
        event.remove(engine, "commit", commit)
        event.remove(engine, "after_cursor_execute", executed)


def race(
    trade_id: str, first: Action, second: Action, events: dict[str, threading.Event]
) -> list[Any]:
    """Run `first` until it is about to commit, then `second`; each one's exception or None."""
    outcomes: list[Any] = [None, None]

    def run(index: int, action: Action) -> None:
        try:
            Executor().execute(OrderMessage(trade_id=trade_id, action=action))
        except Exception as exc:  # noqa: BLE001 - recorded for the assertions
            outcomes[index] = exc

    one = threading.Thread(target=run, args=(0, first), name="first")
    two = threading.Thread(target=run, args=(1, second), name="second")
    one.start()
    assert events["first_holds_locks"].wait(10)
    two.start()
    one.join(30)
    two.join(30)
    assert not one.is_alive() and not two.is_alive()
    return outcomes


def test_a_cancel_racing_a_fill_leaves_the_order_filled_and_its_funds_spent_once(
    trader: User, resting: str, interleaving: dict[str, threading.Event]
) -> None:
    user_id, _ = trader

    outcomes = race(resting, "sync", "cancel", interleaving)

    assert outcomes == [None, None]  # the cancel finds a filled order: nothing to do
    trade = trade_row(resting)
    assert (trade.status, trade.executed_qty) == ("FILLED", D("0.01"))
    assert balances(user_id) == {
        "USDT": (STARTING_USDT - RESERVED, D(0)),
        "BTC": (D("0.01") - fee_down(D("0.01")), D(0)),
    }


def test_a_fill_racing_a_cancel_leaves_the_order_canceled_and_its_funds_released(
    trader: User, resting: str, interleaving: dict[str, threading.Event]
) -> None:
    user_id, _ = trader

    outcomes = race(resting, "cancel", "sync", interleaving)

    assert outcomes == [None, None]
    trade = trade_row(resting)
    assert (trade.status, trade.executed_qty) == ("CANCELED", D(0))
    assert balances(user_id) == {"USDT": (STARTING_USDT, D(0))}
