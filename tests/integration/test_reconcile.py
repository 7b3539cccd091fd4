"""A placement whose answer is lost is never sent again: the trade waits in RECONCILING and the
reconciler looks it up (GET /order and the order history) until Binance's answer is known.

Every scenario runs the real executor and reconciler against the Binance fake, whose look-ups
can lag a lost answer (as Binance's memory and database can lag its matching engine), and checks
the number of orders the fake saw: never more than one per trade. Run these on PostgreSQL too.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

import pytest
from tradebot.crypto.vault import ExchangeCredentials
from tradebot.db.engine import unit_of_work
from tradebot.db.models import Position, utcnow
from tradebot.exchange.base import Exchange, OrderRequest, OrderResult
from tradebot.exchange.binance import BinanceExchange
from tradebot.exchange.factory import binance_exchange
from tradebot.orders.executor import Executor
from tradebot.orders.messages import OrderMessage
from tradebot.orders.reconcile import OrderLookup, Reconciler
from tradebot.settings import get_settings

from devstack.functions import load_function
from devstack.lambda_events import FakeLambdaContext, scheduled_event
from tests.fakes.binance_server import ALL_ORDERS_PATH, TRADES_PATH, BinanceFake
from tests.support import call
from tests.trading_support import (
    API_KEY,
    ORDER_PATH,
    D,
    DiesAfterPlacing,
    ExchangeWrapper,
    get_trade,
    placed,
    remove_stored_key,
    replace_stored_key,
    set_prices,
    store_key,
    trade_row,
)

User = tuple[str, str]
MARKET_BUY = {"symbol": "BTCUSDT", "side": "BUY", "type": "MARKET", "quantity": "0.001"}
LIMIT_BUY = {
    "symbol": "BTCUSDT",
    "side": "BUY",
    "type": "LIMIT",
    "quantity": "0.002",
    "price": "90000",
}
CLOSED_PORT_URL = "http://127.0.0.1:9"  # nothing listens: connection refused


def no_sleep(_seconds: float) -> None:
    return None


@pytest.fixture
def live_trader(binance_fake: BinanceFake, trader: User) -> User:
    """A trader with a stored key; no order queue, so trades are executed here by hand."""
    _, token = trader
    store_key(token)
    set_prices(BTCUSDT="95000.00")
    return trader


def execute(
    trade_id: str, factory: Callable[[ExchangeCredentials], Exchange] | None = None
) -> None:
    executor = Executor(live_exchange=factory or binance_exchange, sleep=no_sleep)
    executor.execute(OrderMessage(trade_id=trade_id, action="place"))


def reconciler(
    clock: Callable[[], datetime] = utcnow, server_ahead: timedelta = timedelta(0)
) -> Reconciler:
    """The reconciler on the fake; `server_ahead` moves Binance's clock past the recvWindow."""

    def lookup(credentials: ExchangeCredentials) -> OrderLookup:
        real = binance_exchange(credentials)
        return ServerAhead(real, server_ahead) if server_ahead else real

    return Reconciler(live_exchange=lookup, clock=clock, sleep=no_sleep)


class ServerAhead:
    """The real exchange, whose server clock reads `ahead` later (time passing, without waiting)."""

    def __init__(self, real: BinanceExchange, ahead: timedelta) -> None:
        self.real, self.ahead = real, ahead

    def get_order(self, symbol: str, client_order_id: str) -> OrderResult | None:
        return self.real.get_order(symbol, client_order_id)

    def find_order(self, symbol: str, client_order_id: str, since: datetime) -> OrderResult | None:
        return self.real.find_order(symbol, client_order_id, since)

    def server_time(self) -> datetime:
        return self.real.server_time() + self.ahead

    def with_commission(self, result: OrderResult) -> OrderResult:
        return self.real.with_commission(result)

    def close(self) -> None:
        self.real.close()


class RefusedFirst(ExchangeWrapper):
    """The real exchange, except that the first placement meets a closed port (refused)."""

    def __init__(self, credentials: ExchangeCredentials) -> None:
        super().__init__(binance_exchange(credentials))
        self.unreachable = BinanceExchange(
            credentials.api_key.get_secret_value(),
            credentials.api_secret,
            base_url=CLOSED_PORT_URL,
            timeout_s=0.5,
        )
        self.refused = False

    def place_order(self, order: OrderRequest) -> OrderResult:
        if not self.refused:
            self.refused = True
            return self.unreachable.place_order(order)
        return self.real.place_order(order)

    def close(self) -> None:
        super().close()
        self.unreachable.close()


def dies_after_placing(credentials: ExchangeCredentials) -> Exchange:
    """The real exchange with this key, except that the executor 'dies' right after placing."""
    return DiesAfterPlacing(binance_exchange(credentials))


def sent_for(fake: BinanceFake, trade: dict[str, Any]) -> int:
    """How many orders Binance (the fake) accepted for this trade."""
    return sum(p["newClientOrderId"] == trade["client_order_id"] for p in fake.placed_orders)


# --- the bug: a lost answer and a lagging look-up placed the order twice ----------------------


def test_a_1007_market_buy_invisible_for_5s_is_placed_once_and_filled_by_the_reconciler(
    binance_fake: BinanceFake, live_trader: User
) -> None:
    _, token = live_trader
    binance_fake.lookup_lag_s = 5.0
    binance_fake.fail_next("-1007", path=ORDER_PATH)
    trade = placed(token, MARKET_BUY)

    execute(trade["id"])

    waiting = get_trade(token, trade["id"])
    assert waiting["status"] == "RECONCILING"
    assert trade["client_order_id"] in waiting["reason"]
    assert "answer was lost" in waiting["reason"]
    row = trade_row(trade["id"])
    sent = int(binance_fake.requests_to("POST", ORDER_PATH)[0].params["timestamp"])
    assert row.placement_sent_at is not None
    assert int(row.placement_sent_at.timestamp() * 1000) == sent  # the request's own timestamp
    assert row.reconcile_started_at is not None
    # Inside the lag the look-ups find nothing, and within recvWindow nothing counts as absent.
    assert reconciler().run().waiting == 1
    assert get_trade(token, trade["id"])["status"] == "RECONCILING"

    time.sleep(5.1)  # the look-ups catch up with the engine
    report = reconciler().run()

    filled = get_trade(token, trade["id"])
    assert report.found == 1
    assert filled["status"] == "FILLED"
    assert D(filled["executed_qty"]) == D("0.001")
    assert D(filled["avg_price"]) == D(95000)
    assert (D(filled["fee"]), filled["fee_asset"]) == (D("0.000001"), "BTC")
    assert filled["reason"] is None
    assert filled["exchange_order_id"] == str(
        binance_fake.orders[trade["client_order_id"]]["orderId"]
    )
    assert len(binance_fake.placed_orders) == sent_for(binance_fake, trade) == 1
    assert len(binance_fake.requests_to("POST", ORDER_PATH)) == 1


@pytest.mark.parametrize(
    "fault",
    ["timeout", "placed-500", "-1006", "drop"],
    ids=["read-timeout", "5xx-after-processing", "1006", "dropped-connection"],
)
def test_a_maybe_placed_answer_is_never_sent_again_and_found_once_visible(
    binance_fake: BinanceFake, live_trader: User, fault: str
) -> None:
    _, token = live_trader
    binance_fake.lookup_lag_s = 60.0
    binance_fake.fail_next(fault, path=ORDER_PATH)
    trade = placed(token, MARKET_BUY)

    execute(trade["id"])
    assert get_trade(token, trade["id"])["status"] == "RECONCILING"
    assert reconciler().run().waiting == 1
    binance_fake.hidden_until.clear()  # the look-ups catch up
    reconciler().run()

    done = get_trade(token, trade["id"])
    assert done["status"] == "FILLED"
    assert D(done["executed_qty"]) == D("0.001")
    assert len(binance_fake.placed_orders) == sent_for(binance_fake, trade) == 1
    assert len(binance_fake.requests_to("POST", ORDER_PATH)) == 1


def test_an_accepted_placement_whose_answer_cannot_be_read_is_looked_up_not_resent(
    binance_fake: BinanceFake, live_trader: User
) -> None:
    _, token = live_trader
    binance_fake.unknown_status_next = True
    trade = placed(token, MARKET_BUY)

    execute(trade["id"])  # accepted, but the answer's status is unknown: looked up, not resent

    done = get_trade(token, trade["id"])
    assert done["status"] == "FILLED"
    assert len(binance_fake.placed_orders) == sent_for(binance_fake, trade) == 1
    assert len(binance_fake.requests_to("POST", ORDER_PATH)) == 1


def test_a_5xx_before_processing_is_reconciled_to_not_placed_never_placed_again(
    binance_fake: BinanceFake, live_trader: User
) -> None:
    _, token = live_trader
    binance_fake.fail_next("503", path=ORDER_PATH)
    trade = placed(token, MARKET_BUY)

    execute(trade["id"])

    assert get_trade(token, trade["id"])["status"] == "RECONCILING"
    assert len(binance_fake.requests_to("POST", ORDER_PATH)) == 1
    assert binance_fake.placed_orders == []


def test_duplicate_order_sent_is_reconciled_never_rejected(
    binance_fake: BinanceFake, live_trader: User
) -> None:
    _, token = live_trader
    trade = placed(token, LIMIT_BUY)
    # Binance already holds an open order with this client id, not visible to look-ups yet.
    binance_fake.lookup_lag_s = 60.0
    binance_fake.place_answer_lost(
        {
            "symbol": "BTCUSDT",
            "side": "BUY",
            "type": "LIMIT",
            "timeInForce": "GTC",
            "quantity": "0.002",
            "price": "90000",
            "newClientOrderId": trade["client_order_id"],
        }
    )

    execute(trade["id"])

    waiting = get_trade(token, trade["id"])
    assert waiting["status"] == "RECONCILING"
    assert "already exists" in waiting["reason"]
    binance_fake.hidden_until.clear()
    reconciler().run()
    assert get_trade(token, trade["id"])["status"] == "NEW"
    assert len(binance_fake.placed_orders) == sent_for(binance_fake, trade) == 1


# --- earlier attempts and the account it was accepted for -------------------------------------


def test_a_key_removed_after_a_maybe_placed_attempt_reconciles_not_rejects(
    binance_fake: BinanceFake, live_trader: User, caplog: pytest.LogCaptureFixture
) -> None:
    user_id, token = live_trader
    binance_fake.lookup_lag_s = 60.0
    trade = placed(token, MARKET_BUY)
    crashed_at = utcnow()
    lease = timedelta(seconds=get_settings().order_claim_lease_s)
    with pytest.raises(RuntimeError, match="killed"):
        Executor(
            live_exchange=dies_after_placing, clock=lambda: crashed_at, sleep=no_sleep
        ).execute(OrderMessage(trade_id=trade["id"], action="place"))
    # The API refuses to forget a key while its orders may be open; it goes behind its back.
    assert call("api_keys_delete", token=token).status == 409
    remove_stored_key(user_id)

    Executor(clock=lambda: crashed_at + lease * 2, sleep=no_sleep).execute(
        OrderMessage(trade_id=trade["id"], action="place"), receive_count=2
    )

    waiting = get_trade(token, trade["id"])
    assert waiting["status"] == "RECONCILING"
    assert "key changed" in waiting["reason"]
    # Without the key nothing can be looked up: the reconciler gives up at once, loudly.
    with caplog.at_level(logging.ERROR, logger="tradebot.orders.reconcile"):
        assert reconciler().run().given_up == 1
    given_up = get_trade(token, trade["id"])
    assert given_up["status"] == "RECONCILING"
    assert f"check Binance for client order id {trade['client_order_id']}" in given_up["reason"]
    assert any("gave up reconciling" in r.message for r in caplog.records)
    assert len(binance_fake.placed_orders) == sent_for(binance_fake, trade) == 1


def test_a_key_replaced_between_accepting_and_executing_rejects_without_sending(
    binance_fake: BinanceFake, live_trader: User
) -> None:
    user_id, token = live_trader
    trade = placed(token, MARKET_BUY)
    # Stored again (behind the API, which refuses while the order may be open): a new
    # credential, even with the same key.
    replace_stored_key(user_id, api_key=API_KEY)

    execute(trade["id"])

    rejected = get_trade(token, trade["id"])
    assert rejected["status"] == "REJECTED"
    assert rejected["reason"] == "The API key changed after this order was accepted"
    assert binance_fake.requests_to("POST", ORDER_PATH) == []
    assert binance_fake.placed_orders == []


def test_a_connection_refused_before_sending_is_placed_again_once(
    binance_fake: BinanceFake, live_trader: User
) -> None:
    _, token = live_trader
    trade = placed(token, MARKET_BUY)

    execute(trade["id"], factory=RefusedFirst)

    done = get_trade(token, trade["id"])
    assert done["status"] == "FILLED"
    assert len(binance_fake.placed_orders) == sent_for(binance_fake, trade) == 1
    assert binance_fake.requests_to("GET", ORDER_PATH) == []  # refused: no look-up needed


# --- when absence is certain ------------------------------------------------------------------


def test_absence_fails_the_trade_only_after_the_recv_window_and_two_lookups_apart(
    binance_fake: BinanceFake, live_trader: User
) -> None:
    _, token = live_trader
    binance_fake.fail_next("500", path=ORDER_PATH)  # answered 5xx before processing
    trade = placed(token, MARKET_BUY)
    execute(trade["id"])
    assert get_trade(token, trade["id"])["status"] == "RECONCILING"
    start = utcnow()
    apart = timedelta(seconds=get_settings().reconcile_confirm_after_s)
    past_window = timedelta(milliseconds=get_settings().binance_recv_window_ms + 1000)

    # Within the recvWindow on Binance's clock, absence proves nothing, however far apart.
    reconciler(clock=lambda: start).run()
    reconciler(clock=lambda: start + 2 * apart).run()
    assert trade_row(trade["id"]).reconcile_absent_since is None
    # After it: the first absent look-up (both endpoints) starts the count...
    assert reconciler(lambda: start + 2 * apart, past_window).run().waiting == 1
    # ...a second one too soon does not confirm it...
    soon = start + 2 * apart + apart / 2
    assert reconciler(lambda: soon, past_window).run().waiting == 1
    assert get_trade(token, trade["id"])["status"] == "RECONCILING"
    # ...one at least `reconcile_confirm_after_s` later does.
    report = reconciler(lambda: start + 3 * apart, past_window).run()

    failed = get_trade(token, trade["id"])
    assert report.not_placed == 1
    assert failed["status"] == "FAILED"
    assert failed["reason"].startswith("Not placed")
    assert trade["client_order_id"] in failed["reason"]
    assert len(binance_fake.requests_to("GET", ALL_ORDERS_PATH)) == 5
    assert binance_fake.placed_orders == []
    assert len(binance_fake.requests_to("POST", ORDER_PATH)) == 1


def test_an_order_found_only_in_the_history_is_recorded(
    binance_fake: BinanceFake, live_trader: User
) -> None:
    _, token = live_trader
    binance_fake.fail_next("-1007", path=ORDER_PATH)
    binance_fake.fail_next("-2013", count=2, path=ORDER_PATH)  # GET /order misses it twice
    trade = placed(token, MARKET_BUY)
    execute(trade["id"])
    assert get_trade(token, trade["id"])["status"] == "RECONCILING"

    reconciler().run()

    assert get_trade(token, trade["id"])["status"] == "FILLED"
    (history,) = binance_fake.requests_to("GET", ALL_ORDERS_PATH)
    assert history.params["symbol"] == "BTCUSDT"
    assert "startTime" in history.params
    assert "signature" in history.params
    assert len(binance_fake.placed_orders) == 1


# --- giving up ----------------------------------------------------------------------------------


def test_the_reconciler_gives_up_after_its_bound_with_a_metric_never_failing_the_trade(
    binance_fake: BinanceFake,
    live_trader: User,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    _, token = live_trader
    binance_fake.fail_next("503", path=ORDER_PATH)
    trade = placed(token, MARKET_BUY)
    execute(trade["id"])
    later = utcnow() + timedelta(seconds=get_settings().reconcile_give_up_after_s + 1)
    function = load_function("reconciler")
    monkeypatch.setattr(function, "reconciler", reconciler(clock=lambda: later))
    capsys.readouterr()

    result = function.handler(
        scheduled_event("arn:aws:events:us-east-1:000000000000:rule/reconciler"),
        FakeLambdaContext(function_name="reconciler"),
    )

    assert result["given_up"] == 1
    given_up = get_trade(token, trade["id"])
    assert given_up["status"] == "RECONCILING"
    assert f"client order id {trade['client_order_id']}" in given_up["reason"]
    assert "check Binance" in given_up["reason"]
    emitted = [json.loads(line) for line in capsys.readouterr().out.splitlines() if "_aws" in line]
    assert any(metric.get("ReconcileGaveUp") == [1.0] or metric.get("ReconcileGaveUp") == 1.0
               for metric in emitted), emitted  # fmt: skip
    # Given up means no more look-ups (and no second alarm).
    assert reconciler(clock=lambda: later).run().given_up == 0
    assert binance_fake.placed_orders == []


def test_a_fill_recorded_without_its_fee_gets_it_from_the_reconciler_once(
    binance_fake: BinanceFake, live_trader: User
) -> None:
    user_id, token = live_trader
    trade = placed(token, LIMIT_BUY)
    execute(trade["id"])  # resting on Binance
    binance_fake.fill_resting(trade["client_order_id"])
    # The sync that learns of the fill cannot read the trade list: the fill is recorded, its
    # fee marked unknown.
    binance_fake.fail_next("-1102", path=TRADES_PATH)
    Executor(sleep=no_sleep).execute(OrderMessage(trade_id=trade["id"], action="sync"))
    pending = trade_row(trade["id"])
    assert (pending.status, pending.fee_pending, pending.fees) == ("FILLED", True, [])

    reconciler().run()
    reconciler().run()  # a second run finds nothing left to do

    assert trade_row(trade["id"]).fee_pending is False
    assert get_trade(token, trade["id"])["fees"] == [{"asset": "BTC", "amount": "0.000002"}]
    with unit_of_work() as session:
        held = session.get(Position, (user_id, "BTCUSDT"))
        assert held is not None
        assert held.quantity == D("0.002") - D("0.000002")  # the fee charged once
