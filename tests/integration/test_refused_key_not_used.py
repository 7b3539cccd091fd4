"""A stored key the exchange refuses (-2014/-2015) is marked invalid once and not used again,
by any consumer, until a key is stored anew.

Binance "revokes" the key by forgetting it (the fake then answers -2015, as Binance does for a
deleted key). Every request the fake receives is counted, and its request-weight counter says
what the refused key cost.
"""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select
from tradebot.db.engine import unit_of_work
from tradebot.db.models import ApiCredential, SecurityEvent, Trade
from tradebot.orders.executor import Executor
from tradebot.orders.messages import OrderMessage
from tradebot.orders.reconcile import Reconciler
from tradebot.orders.sync import refuse_key

from tests.fakes.binance_server import BinanceFake
from tests.support import assert_problem, call
from tests.trading_support import (
    API_KEY,
    ORDER_PATH,
    OrderQueueHarness,
    get_trade,
    place,
    placed,
    set_prices,
    store_key,
)

User = tuple[str, str]
MARKET_BUY = {"symbol": "BTCUSDT", "side": "BUY", "type": "MARKET", "quantity": "0.001"}
LIMIT_BUY = {**MARKET_BUY, "type": "LIMIT", "price": "90000"}
REVOKED = "Binance refused the key (code -2015)"


@pytest.fixture
def live_trader(binance_fake: BinanceFake, trader: User) -> User:
    """A trader whose key Binance accepted when it was stored."""
    _, token = trader
    store_key(token)
    set_prices(**{symbol: str(price) for symbol, price in binance_fake.prices.items()})
    return trader


def revoke(fake: BinanceFake) -> None:
    """Binance forgets the key (deleted on binance.com): it answers -2015 from now on."""
    fake.api_key = "revoked" * 8


def mark_refused(user_id: str) -> None:
    """The key as a worker leaves it after Binance refused it."""
    with unit_of_work() as session:
        refuse_key(session, user_id, REVOKED)


def sent_with_key(fake: BinanceFake) -> int:
    """Requests that carried the user's key."""
    return sum(r.headers.get("x-mbx-apikey") == API_KEY for r in fake.requests)


def invalidations(user_id: str) -> int:
    with unit_of_work() as session:
        events = session.scalars(
            select(SecurityEvent).where(
                SecurityEvent.user_id == user_id, SecurityEvent.type == "key_invalidated"
            )
        )
        return len(list(events))


# --- the dashboard --------------------------------------------------------------------------------


def test_ten_dashboards_with_a_revoked_key_cost_one_account_read_then_nothing(
    binance_fake: BinanceFake, live_trader: User
) -> None:
    # Before: every dashboard read the account with the revoked key (weight 20 each: 200).
    user_id, token = live_trader
    revoke(binance_fake)
    weight_before, sent_before = binance_fake.used_weight(), sent_with_key(binance_fake)

    boards = [call("dashboard", token=token) for _ in range(10)]

    assert [b.status for b in boards] == [200] * 10
    assert {b.body["key_status"] for b in boards} == {"invalid"}
    assert all(b.body["balances"] == [] for b in boards)
    assert sent_with_key(binance_fake) - sent_before == 1
    assert binance_fake.used_weight() - weight_before == 20
    assert invalidations(user_id) == 1
    shown = call("api_keys_get", token=token).body
    assert shown["status"] == "invalid"
    assert "-2015" in shown["invalid_reason"]


def test_a_dashboard_with_a_key_already_refused_sends_nothing(
    binance_fake: BinanceFake, live_trader: User
) -> None:
    user_id, token = live_trader
    mark_refused(user_id)
    before = len(binance_fake.requests)

    board = call("dashboard", token=token)

    assert board.status == 200
    assert board.body["key_status"] == "invalid"
    assert len(binance_fake.requests) == before


def test_a_valid_key_shows_as_valid_on_the_dashboard(live_trader: User) -> None:
    _, token = live_trader

    board = call("dashboard", token=token).body

    assert board["key_status"] == "valid"
    assert board["balances"]


# --- trade create ---------------------------------------------------------------------------------


def test_an_order_with_a_refused_key_is_409_and_nothing_is_queued_or_sent(
    binance_fake: BinanceFake, order_queue: OrderQueueHarness, live_trader: User
) -> None:
    user_id, token = live_trader
    mark_refused(user_id)
    before = len(binance_fake.requests)

    problem = assert_problem(place(token, MARKET_BUY), 409)

    assert problem["type"] == "urn:tradebot:problem:stored-key-refused"
    assert "store" in problem["detail"]
    assert "-2015" in problem["detail"]
    assert order_queue.depth() == 0
    with unit_of_work() as session:
        assert session.scalars(select(Trade).where(Trade.user_id == user_id)).all() == []
    assert len(binance_fake.requests) == before


def test_an_order_that_finds_the_key_revoked_is_409_and_marks_it_once(
    binance_fake: BinanceFake, order_queue: OrderQueueHarness, live_trader: User
) -> None:
    user_id, token = live_trader
    revoke(binance_fake)

    first = place(token, MARKET_BUY)
    sent = sent_with_key(binance_fake)
    second = place(token, MARKET_BUY)

    assert_problem(first, 409)
    assert_problem(second, 409)
    assert sent_with_key(binance_fake) == sent  # the second asked nothing
    assert order_queue.depth() == 0
    assert invalidations(user_id) == 1


# --- the executor ---------------------------------------------------------------------------------


def test_an_order_queued_before_the_key_was_refused_fails_unsent(
    binance_fake: BinanceFake, order_queue: OrderQueueHarness, live_trader: User
) -> None:
    user_id, token = live_trader
    trade = placed(token, MARKET_BUY)
    mark_refused(user_id)

    order_queue.drain()

    failed = get_trade(token, trade["id"])
    assert failed["status"] == "FAILED"
    assert "refused the stored API key" in failed["reason"]
    assert binance_fake.requests_to("POST", ORDER_PATH) == []


def test_a_placement_binance_refuses_for_the_key_marks_it_and_the_next_order_is_409(
    binance_fake: BinanceFake, order_queue: OrderQueueHarness, live_trader: User
) -> None:
    user_id, token = live_trader
    trade = placed(token, MARKET_BUY)
    revoke(binance_fake)

    order_queue.drain()

    assert get_trade(token, trade["id"])["status"] == "REJECTED"
    assert len(binance_fake.requests_to("POST", ORDER_PATH)) == 1
    assert call("api_keys_get", token=token).body["status"] == "invalid"
    assert invalidations(user_id) == 1
    assert_problem(place(token, MARKET_BUY), 409)


# --- sync -----------------------------------------------------------------------------------------


@pytest.mark.parametrize("action", ["sync", "sync_user", "cancel"])
def test_an_open_order_is_not_synced_or_canceled_with_a_refused_key(
    action: str, binance_fake: BinanceFake, order_queue: OrderQueueHarness, live_trader: User
) -> None:
    user_id, token = live_trader
    resting = placed(token, LIMIT_BUY)
    order_queue.drain()
    assert get_trade(token, resting["id"])["status"] == "NEW"
    mark_refused(user_id)
    before = len(binance_fake.requests)
    message: dict[str, Any] = (
        {"user_id": user_id} if action == "sync_user" else {"trade_id": resting["id"]}
    )

    Executor().execute(OrderMessage(action=action, **message))

    assert len(binance_fake.requests) == before
    assert get_trade(token, resting["id"])["status"] == "NEW"


# --- the reconciler -------------------------------------------------------------------------------


def test_the_reconciler_waits_for_a_new_key_and_then_looks_the_order_up_with_it(
    binance_fake: BinanceFake, order_queue: OrderQueueHarness, live_trader: User
) -> None:
    # Given an order whose placement answer was lost (so it may exist), then the key refused
    user_id, token = live_trader
    binance_fake.fail_next("-1007", path=ORDER_PATH)
    binance_fake.lookup_lag_s = 60.0
    trade = placed(token, MARKET_BUY)
    order_queue.drain()
    assert get_trade(token, trade["id"])["status"] == "RECONCILING"
    mark_refused(user_id)
    before = len(binance_fake.requests)

    # When the reconciler runs: it waits, asking nothing and spending none of its look-ups
    report = Reconciler(sleep=lambda _s: None).run()

    assert report.waiting == 1
    assert len(binance_fake.requests) == before
    with unit_of_work() as session:
        row = session.get(Trade, trade["id"])
        assert row is not None
        assert row.reconcile_checks == 0

    # And once a key is stored anew, it takes the order over and the look-up finds it
    binance_fake.hidden_until.clear()
    store_key(token)
    assert Reconciler(sleep=lambda _s: None).run().found == 1
    assert get_trade(token, trade["id"])["status"] == "FILLED"
    with unit_of_work() as session:
        credential = session.scalars(
            select(ApiCredential).where(ApiCredential.user_id == user_id)
        ).one()
        assert credential.invalidated_at is None


# --- storing anew ---------------------------------------------------------------------------------


def test_a_key_stored_anew_is_valid_and_used_again(
    binance_fake: BinanceFake, order_queue: OrderQueueHarness, live_trader: User
) -> None:
    user_id, token = live_trader
    mark_refused(user_id)
    assert call("api_keys_get", token=token).body["status"] == "invalid"

    store_key(token)

    shown = call("api_keys_get", token=token).body
    assert (shown["status"], shown["invalid_reason"]) == ("valid", None)
    trade = placed(token, MARKET_BUY)
    order_queue.drain()
    assert get_trade(token, trade["id"])["status"] == "FILLED"


def test_a_refusal_of_a_replaced_key_leaves_the_key_stored_anew_alone(
    binance_fake: BinanceFake, live_trader: User
) -> None:
    # A worker that used the old key learns of its refusal after the new one was stored.
    user_id, token = live_trader
    with unit_of_work() as session:
        old = session.scalars(
            select(ApiCredential.id).where(ApiCredential.user_id == user_id)
        ).one()
    store_key(token)

    with unit_of_work() as session:
        refuse_key(session, user_id, REVOKED, credential_id=old)

    assert call("api_keys_get", token=token).body["status"] == "valid"
    assert invalidations(user_id) == 0
