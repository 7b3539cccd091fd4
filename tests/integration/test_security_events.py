"""The audit trail: each action records its security event in its own transaction, with the
caller's address, user agent and request id; GET /api/account/events lists only the caller's."""

from __future__ import annotations

import io
import logging
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import delete, select
from tradebot.audit.events import record_event
from tradebot.audit.schemas import EVENT_TYPES
from tradebot.db.engine import unit_of_work
from tradebot.db.models import SecurityEvent, Trade
from tradebot.db.models import User as UserRow
from tradebot.orders.sync import refuse_key

from tests.fakes.binance_server import BinanceFake
from tests.support import Reply, assert_problem, call, error_fields
from tests.trading_support import (
    API_KEY,
    API_SECRET,
    OrderQueueHarness,
    new_trader,
    placed,
    set_prices,
    store_key,
)

User = tuple[str, str]
PASSWORD = "correct horse battery staple"
BROWSER = "Mozilla/5.0 (X11; Linux x86_64) Firefox/133.0"
ADDRESS = "203.0.113.7"
LIMIT_BUY = {
    "symbol": "BTCUSDT",
    "side": "BUY",
    "type": "LIMIT",
    "quantity": "0.01",
    "price": "50000",
}


def events_of(user_id: str) -> list[SecurityEvent]:
    """The user's events as stored, oldest first."""
    with unit_of_work() as session:
        rows = session.scalars(
            select(SecurityEvent)
            .where(SecurityEvent.user_id == user_id)
            .order_by(SecurityEvent.created_at, SecurityEvent.id)
        ).all()
        session.expunge_all()
        return list(rows)


def types_of(user_id: str) -> list[str]:
    return [event.type for event in events_of(user_id)]


def from_browser(function: str, **kwargs: Any) -> Reply:
    """A call from a browser at ADDRESS."""
    return call(function, headers={"User-Agent": BROWSER}, source_ip=ADDRESS, **kwargs)


def registered(email: str = "alice@example.com") -> str:
    reply = call("auth_register", body={"email": email, "password": PASSWORD})
    assert reply.status == 201, reply.raw_body
    user_id: str = reply.body["id"]
    return user_id


@pytest.fixture(autouse=True)
def market_prices() -> None:
    set_prices(BTCUSDT="95000.00", ETHUSDT="3400.00")


# --- logins -----------------------------------------------------------------------------------


def test_a_login_records_login_with_the_callers_address_user_agent_and_request_id() -> None:
    user_id = registered()

    reply = from_browser("auth_login", body={"email": "alice@example.com", "password": PASSWORD})

    assert reply.status == 200
    [event] = events_of(user_id)
    assert (event.type, event.ip, event.user_agent) == ("login", ADDRESS, BROWSER)
    assert event.request_id == reply.headers["x-request-id"]


def test_a_wrong_password_records_login_failed_although_the_login_is_refused() -> None:
    user_id = registered()

    reply = from_browser("auth_login", body={"email": "alice@example.com", "password": "nope" * 4})

    assert_problem(reply, 401)
    [event] = events_of(user_id)
    assert (event.type, event.ip, event.user_agent) == ("login_failed", ADDRESS, BROWSER)


def test_a_login_for_an_unknown_email_records_nothing() -> None:
    reply = call("auth_login", body={"email": "nobody@example.com", "password": PASSWORD})

    assert_problem(reply, 401)
    with unit_of_work() as session:
        assert session.scalars(select(SecurityEvent)).all() == []


def test_a_long_user_agent_is_cut_not_refused() -> None:
    user_id = registered()

    reply = call(
        "auth_login",
        body={"email": "alice@example.com", "password": PASSWORD},
        headers={"User-Agent": "x" * 2000},
    )

    assert reply.status == 200
    assert events_of(user_id)[0].user_agent == "x" * 256


# --- keys -------------------------------------------------------------------------------------


def test_storing_and_deleting_a_key_record_key_stored_and_key_deleted_naming_only_its_hint(
    binance_fake: BinanceFake, trader: User
) -> None:
    user_id, token = trader
    key = {"api_key": API_KEY, "api_secret": API_SECRET, "testnet": True}

    assert from_browser("api_keys_put", token=token, body=key).status == 200
    assert from_browser("api_keys_delete", token=token).status == 204
    assert from_browser("api_keys_delete", token=token).status == 204  # nothing left to forget

    stored, deleted = events_of(user_id)
    hint = f"testnet key {API_KEY[:4]}…{API_KEY[-4:]}"
    assert (stored.type, stored.detail, stored.ip, stored.user_agent) == (
        "key_stored", hint, ADDRESS, BROWSER
    )  # fmt: skip
    assert (deleted.type, deleted.detail) == ("key_deleted", hint)


def test_a_key_change_refused_while_live_orders_may_be_open_records_key_refused_only(
    binance_fake: BinanceFake, trader: User
) -> None:
    user_id, token = trader
    store_key(token)
    with unit_of_work() as session:
        session.add(
            Trade(user_id=user_id, symbol="BTCUSDT", side="BUY", type="LIMIT", status="NEW",
                  client_order_id="open-live-order", venue="testnet", trading_mode="live")
        )  # fmt: skip

    replaced = from_browser(
        "api_keys_put", token=token, body={"api_key": "k" * 64, "api_secret": "s" * 64}
    )
    deleted = from_browser("api_keys_delete", token=token)

    assert_problem(replaced, 409)
    assert_problem(deleted, 409)
    assert types_of(user_id) == ["key_stored", "key_refused"]
    # Refused before Binance was asked about the new key: only the first key was checked.
    assert [r.headers["x-mbx-apikey"] for r in binance_fake.requests] == [API_KEY]
    assert events_of(user_id)[-1].ip == ADDRESS


def test_a_key_the_exchange_refuses_records_key_invalidated_once(
    binance_fake: BinanceFake, trader: User
) -> None:
    user_id, token = trader
    store_key(token)

    for _ in range(2):
        with unit_of_work() as session:
            refuse_key(session, user_id, "Binance refused the key (-2015): Invalid API-key")

    invalidated = events_of(user_id)[-1]
    assert types_of(user_id) == ["key_stored", "key_invalidated"]
    assert invalidated.detail == "Binance refused the key (-2015): Invalid API-key"
    assert (invalidated.ip, invalidated.request_id) == (None, None)  # no request: a worker


# --- orders -----------------------------------------------------------------------------------


def test_placing_and_canceling_record_order_placed_and_order_canceled(
    order_queue: OrderQueueHarness, trader: User
) -> None:
    user_id, token = trader

    trade = from_browser("trades_create", token=token, body=LIMIT_BUY).body
    path = {"trade_id": trade["id"]}
    assert from_browser("trades_cancel", token=token, path_params=path).status == 202

    placed_event, canceled_event = events_of(user_id)
    assert placed_event.type == "order_placed"
    assert placed_event.detail == f"BUY LIMIT BTCUSDT 0.01 @ 50000 (paper) {trade['id']}"
    assert (canceled_event.type, canceled_event.ip) == ("order_canceled", ADDRESS)
    assert trade["id"] in (canceled_event.detail or "")


def test_a_refused_order_records_no_order_placed(
    order_queue: OrderQueueHarness, trader: User
) -> None:
    user_id, token = trader
    too_dear = {**LIMIT_BUY, "quantity": "10"}  # 500 000 USDT of a 10 000 USDT paper balance

    reply = call("trades_create", token=token, body=too_dear)

    assert reply.status >= 400
    assert types_of(user_id) == []


def test_an_idempotent_replay_records_its_order_once(
    order_queue: OrderQueueHarness, trader: User
) -> None:
    user_id, token = trader
    headers = {"Idempotency-Key": "same-order"}

    for _ in range(2):
        assert call("trades_create", token=token, body=LIMIT_BUY, headers=headers).status == 202

    assert types_of(user_id) == ["order_placed"]


def test_a_refused_cancel_records_no_order_canceled(
    order_queue: OrderQueueHarness, trader: User
) -> None:
    user_id, token = trader
    trade = placed(token, LIMIT_BUY)
    path = {"trade_id": trade["id"]}
    assert call("trades_cancel", token=token, path_params=path).status == 202

    assert_problem(call("trades_cancel", token=token, path_params=path), 409)

    assert types_of(user_id) == ["order_placed", "order_canceled"]


def test_cancel_all_records_cancel_all_with_its_count(
    order_queue: OrderQueueHarness, trader: User
) -> None:
    user_id, token = trader
    for _ in range(2):
        placed(token, LIMIT_BUY)

    assert from_browser("trades_cancel_all", token=token).status == 202

    event = events_of(user_id)[-1]
    assert (event.type, event.ip, event.user_agent) == ("cancel_all", ADDRESS, BROWSER)
    assert event.detail == "2 order(s) canceled or being canceled"


# --- the list ---------------------------------------------------------------------------------


def test_the_list_pages_through_my_events_newest_first_and_never_shows_anothers(
    trader: User, other_trader: User
) -> None:
    (user_id, token), (other_id, other_token) = trader, other_trader
    for n in range(5):
        with unit_of_work() as session:
            record_event(session, user_id, "login", detail=f"mine {n}")
            record_event(session, other_id, "login_failed", detail=f"theirs {n}")

    pages: list[dict[str, Any]] = []
    cursor: str | None = None
    while True:
        query = {"limit": "2", **({"cursor": cursor} if cursor else {})}
        reply = call("account_events", token=token, query=query)
        assert reply.status == 200, reply.raw_body
        pages.append(reply.body)
        cursor = reply.body["next_cursor"]
        if cursor is None:
            break

    assert [len(page["items"]) for page in pages] == [2, 2, 1]
    items = [item for page in pages for item in page["items"]]
    assert [item["detail"] for item in items] == [f"mine {n}" for n in reversed(range(5))]
    assert set(items[0]) == {"id", "type", "created_at", "ip", "user_agent", "detail"}
    theirs = call("account_events", token=other_token).body["items"]
    assert {item["type"] for item in theirs} == {"login_failed"}
    assert len(theirs) == 5


def test_a_forged_events_cursor_is_422_naming_cursor(trader: User) -> None:
    _, token = trader

    reply = call("account_events", token=token, query={"cursor": "bm90LWEtY3Vyc29y"})

    assert_problem(reply, 422)
    assert error_fields(reply) == ["cursor"]


def test_an_unknown_event_type_is_refused_before_it_reaches_the_table(trader: User) -> None:
    user_id, _ = trader
    with pytest.raises(ValueError, match="unknown security event type"), unit_of_work() as session:
        record_event(session, user_id, "logged_in")  # type: ignore[arg-type]

    assert "2fa_enabled" in EVENT_TYPES
    assert types_of(user_id) == []


def test_deleting_a_user_deletes_their_events() -> None:
    user_id, _ = new_trader("gone@example.com")
    with unit_of_work() as session:
        record_event(session, user_id, "login")
    with unit_of_work() as session:
        session.execute(delete(UserRow).where(UserRow.id == user_id))

    assert events_of(user_id) == []


# --- logs -------------------------------------------------------------------------------------


@pytest.fixture
def json_logs() -> Iterator[io.StringIO]:
    """The application's log lines as Powertools writes them."""
    from tradebot.observability import logger

    sink = io.StringIO()
    handler = logging.StreamHandler(sink)
    handler.setFormatter(logger.registered_formatter)
    package = logging.getLogger("tradebot")
    package.addHandler(handler)
    try:
        yield sink
    finally:
        package.removeHandler(handler)


def test_the_log_lines_of_an_authenticated_request_name_the_user_and_later_ones_do_not(
    trader: User, json_logs: io.StringIO
) -> None:
    user_id, token = trader

    # No order queue is configured: the accepted order's message is logged as not sent.
    assert call("trades_create", token=token, body=LIMIT_BUY).status == 202
    during = json_logs.getvalue()
    assert call("health").status == 200
    after = json_logs.getvalue()[len(during) :]

    assert "order messages not sent" in during
    assert f'"user_id":"{user_id}"' in during.replace(" ", "")
    assert user_id not in after
