"""Exchange keys: stored only as v2 envelopes sealed to their owner, shown masked, switching
paper and live.

Every key is checked with Binance (the fake) before it is stored; the checks themselves are in
test_api_key_checks.py.
"""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select
from tradebot.accounts.sealing import open_value
from tradebot.accounts.service import NAMED_OPEN_ORDERS, delete_api_key
from tradebot.db.engine import unit_of_work
from tradebot.db.models import ApiCredential
from tradebot.errors import LiveOrdersOpen
from tradebot.orders.schemas import TradeCreate
from tradebot.orders.service import place_trade
from tradebot.orders.state import MAY_BE_OPEN

from tests.fakes.binance_server import BinanceFake
from tests.support import assert_problem, call, user_with_token
from tests.trading_support import (
    OrderQueueHarness,
    get_trade,
    placed,
    run_concurrently,
    set_prices,
    store_key,
    trade_rows,
)

API_KEY = "vmPUZE6mv9SD5VNHk4HlWFsOr6aKE2zvsw0MuIgwCIPy6utIco14y7Ju91duEh8A"
API_SECRET = "NhqPtmdSJYdKjVHjA7PZj4Mge3R5YNiP1e3UZjInClVN65XAbvqqM6A7H5fATj0j"
BODY = {"api_key": API_KEY, "api_secret": API_SECRET, "testnet": True}
NEW_API_KEY = "B" * 30 + "newkey5678"
NEW_KEY = {**BODY, "api_key": NEW_API_KEY}
SECOND_KEY = "A" * 30 + "newkey1234"
MARKET_BUY = {"symbol": "BTCUSDT", "side": "BUY", "type": "MARKET", "quantity": "0.001"}
LIMIT_BUY = {
    "symbol": "BTCUSDT",
    "side": "BUY",
    "type": "LIMIT",
    "quantity": "0.001",
    "price": "90000",
}
User = tuple[str, str]


@pytest.fixture(autouse=True)
def binance(binance_fake: BinanceFake) -> BinanceFake:
    """Binance answering the key check; it knows the other keys these tests store too."""
    binance_fake.other_keys.update({NEW_API_KEY: API_SECRET, SECOND_KEY: API_SECRET})
    return binance_fake


def _stored_credential(user_id: str) -> ApiCredential:
    with unit_of_work() as session:
        return session.scalars(select(ApiCredential).where(ApiCredential.user_id == user_id)).one()


def test_put_stores_the_key_and_shows_it_masked() -> None:
    _, token = user_with_token()

    reply = call("api_keys_put", token=token, body=BODY)

    assert reply.status == 200
    assert reply.body["exchange"] == "binance"
    assert reply.body["api_key_hint"] == "vmPU…Eh8A"
    assert reply.body["testnet"] is True
    assert reply.body["created_at"].endswith("Z")


def test_the_key_and_secret_never_appear_in_any_response() -> None:
    _, token = user_with_token()

    replies = [
        call("api_keys_put", token=token, body=BODY),
        call("api_keys_get", token=token),
        call("auth_me", token=token),
    ]

    for reply in replies:
        assert reply.status == 200
        assert API_SECRET not in reply.raw_body
        assert API_KEY not in reply.raw_body
        assert API_SECRET[:8] not in reply.raw_body


def test_the_database_holds_only_envelopes_that_open_for_their_owner_to_the_key() -> None:
    user_id, token = user_with_token()
    call("api_keys_put", token=token, body=BODY)

    credential = _stored_credential(user_id)
    columns = [str(getattr(credential, c.key)) for c in ApiCredential.__table__.columns]

    assert not any(API_KEY in value or API_SECRET in value for value in columns)
    assert credential.api_key_encrypted.startswith("v2.")  # an envelope, not Fernet
    owner = (user_id, credential.id)
    opened_key = open_value(credential.api_key_encrypted, *owner, "api_key")
    opened_secret = open_value(credential.api_secret_encrypted, *owner, "api_secret")
    assert opened_key.get_secret_value() == API_KEY
    assert opened_secret.get_secret_value() == API_SECRET


def test_get_shows_the_stored_key_masked() -> None:
    _, token = user_with_token()
    stored = call("api_keys_put", token=token, body={**BODY, "testnet": False}).body

    reply = call("api_keys_get", token=token)

    assert reply.status == 200
    assert reply.body == stored
    assert reply.body["testnet"] is False


def test_get_is_404_when_no_key_is_stored() -> None:
    _, token = user_with_token()

    assert_problem(call("api_keys_get", token=token), 404)


def test_storing_a_key_switches_to_live_and_deleting_it_back_to_paper() -> None:
    _, token = user_with_token()
    assert call("auth_me", token=token).body["trading_mode"] == "paper"

    call("api_keys_put", token=token, body=BODY)
    assert call("auth_me", token=token).body["trading_mode"] == "live"

    deleted = call("api_keys_delete", token=token)
    assert deleted.status == 204
    assert deleted.raw_body == ""
    assert call("auth_me", token=token).body["trading_mode"] == "paper"
    assert_problem(call("api_keys_get", token=token), 404)


def test_a_second_put_replaces_the_first_key() -> None:
    user_id, token = user_with_token()
    call("api_keys_put", token=token, body=BODY)

    new_key = SECOND_KEY
    reply = call("api_keys_put", token=token, body={**BODY, "api_key": new_key})

    assert reply.body["api_key_hint"] == "AAAA…1234"
    with unit_of_work() as session:
        rows = list(session.scalars(select(ApiCredential).where(ApiCredential.user_id == user_id)))
    assert len(rows) == 1
    opened = open_value(rows[0].api_key_encrypted, user_id, rows[0].id, "api_key")
    assert opened.get_secret_value() == new_key


def test_delete_without_a_key_is_still_204() -> None:
    _, token = user_with_token()

    assert call("api_keys_delete", token=token).status == 204


def test_a_key_with_symbols_is_refused_without_echoing_it() -> None:
    _, token = user_with_token()
    bad_secret = "secret-with-dashes-" + "x" * 20

    reply = call("api_keys_put", token=token, body={**BODY, "api_secret": bad_secret})

    assert_problem(reply, 422)
    assert [e["field"] for e in reply.body["errors"]] == ["api_secret"]
    assert bad_secret not in reply.raw_body


def test_one_users_key_is_invisible_to_another() -> None:
    _, alice = user_with_token("alice@example.com")
    _, bob = user_with_token("bob@example.com")
    call("api_keys_put", token=alice, body=BODY)

    assert_problem(call("api_keys_get", token=bob), 404)
    assert call("auth_me", token=bob).body["trading_mode"] == "paper"


# --- no key change while live orders may be open ----------------------------------------------


@pytest.fixture
def live_trader(order_queue: OrderQueueHarness, binance_fake: BinanceFake, trader: User) -> User:
    """A trader with a stored key, trading live against the Binance fake."""
    _, token = trader
    store_key(token)
    set_prices(**{symbol: str(price) for symbol, price in binance_fake.prices.items()})
    return trader


def _resting_live_order(queue: OrderQueueHarness, token: str) -> dict[str, Any]:
    trade = placed(token, LIMIT_BUY)
    queue.drain()
    opened = get_trade(token, trade["id"])
    assert opened["status"] == "NEW", opened
    return opened


@pytest.mark.parametrize("change", ["api_keys_delete", "api_keys_put"])
def test_a_key_change_with_a_live_order_open_is_409_naming_it_and_cancel_all_as_the_way_out(
    change: str, order_queue: OrderQueueHarness, live_trader: User
) -> None:
    # Given a live order resting on Binance
    user_id, token = live_trader
    trade = _resting_live_order(order_queue, token)
    stored = _stored_credential(user_id)

    # When the trader deletes or replaces the key
    reply = call(change, token=token, body=NEW_KEY if change == "api_keys_put" else None)

    # Then it is refused, naming the order and the way out, and the key is unchanged
    problem = assert_problem(reply, 409)
    assert problem["type"] == "urn:tradebot:problem:live-orders-open"
    assert problem["open_orders"] == [{"id": trade["id"], "symbol": "BTCUSDT", "status": "NEW"}]
    assert trade["id"] in problem["detail"]
    assert "BTCUSDT" in problem["detail"]
    assert "POST /api/trading/cancel-all" in problem["detail"]
    assert _stored_credential(user_id).id == stored.id
    assert call("auth_me", token=token).body["trading_mode"] == "live"


@pytest.mark.parametrize("change", ["api_keys_delete", "api_keys_put"])
def test_a_key_change_succeeds_once_cancel_all_has_finished_the_live_orders(
    change: str, order_queue: OrderQueueHarness, binance_fake: BinanceFake, live_trader: User
) -> None:
    # Given an open live order and a queued one, both refusing the change
    _, token = live_trader
    opened = _resting_live_order(order_queue, token)
    queued = placed(token, MARKET_BUY)
    body = NEW_KEY if change == "api_keys_put" else None
    assert_problem(call(change, token=token, body=body), 409)

    # When cancel-all has run and the executor has carried out its cancels
    assert call("trades_cancel_all", token=token).body == {"canceled": 2, "reconciling": 0}
    assert_problem(call(change, token=token, body=body), 409)  # Binance has not answered yet
    order_queue.drain()

    # Then the change goes through
    assert get_trade(token, opened["id"])["status"] == "CANCELED"
    assert get_trade(token, queued["id"])["status"] == "CANCELED"
    assert binance_fake.orders[opened["client_order_id"]]["status"] == "CANCELED"
    reply = call(change, token=token, body=body)
    assert reply.status == (200 if change == "api_keys_put" else 204), reply.raw_body


def test_a_refusal_names_a_few_open_orders_and_counts_the_rest(
    order_queue: OrderQueueHarness, live_trader: User
) -> None:
    _, token = live_trader
    trades = [placed(token, MARKET_BUY) for _ in range(NAMED_OPEN_ORDERS + 2)]

    problem = assert_problem(call("api_keys_delete", token=token), 409)

    assert [o["id"] for o in problem["open_orders"]] == [
        t["id"] for t in trades[:NAMED_OPEN_ORDERS]
    ]
    assert {o["status"] for o in problem["open_orders"]} == {"PENDING"}
    assert problem["detail"].startswith(f"{len(trades)} live order(s)")
    assert "and 2 more" in problem["detail"]


def test_open_paper_orders_do_not_hold_back_storing_a_key(trader: User) -> None:
    # Paper orders never used a key: the first key may be stored while they rest.
    _, token = trader
    set_prices(BTCUSDT="95000.00")
    trade = placed(token, LIMIT_BUY)

    assert call("api_keys_put", token=token, body=BODY).status == 200
    assert get_trade(token, trade["id"])["venue"] == "paper"


def test_a_live_order_accepted_while_the_key_is_deleted_never_outlives_the_key(
    order_queue: OrderQueueHarness, live_trader: User
) -> None:
    # Either the deletion waits for the order and is refused, or the order waits for the
    # deletion and is accepted for paper: never a live order whose key is gone.
    user_id, token = live_trader
    order = TradeCreate.model_validate(MARKET_BUY)
    for _ in range(5):
        refused: list[bool] = []

        def delete_key() -> None:
            try:
                with unit_of_work() as session:
                    delete_api_key(session, user_id)
            except LiveOrdersOpen:
                refused.append(True)  # noqa: B023 - joined in this iteration

        outcomes = run_concurrently(lambda: place_trade(user_id, order, None), delete_key)

        assert outcomes == [None, None]
        venues = {t.venue for t in trade_rows(user_id) if t.status in MAY_BE_OPEN}
        if refused:
            assert venues - {"paper"}, "refused with no live order open"
        else:
            assert venues <= {"paper"}, "a live order was accepted for a deleted key"
        # Back to the start: nothing open, a key stored.
        call("trades_cancel_all", token=token)
        order_queue.drain()
        if not refused:
            store_key(token)
