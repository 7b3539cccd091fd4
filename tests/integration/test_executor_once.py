"""An order is placed on the exchange at most once, whatever is delivered twice, concurrently, or
after an executor died between placing and recording.

Run these on PostgreSQL too: there the claim is a real row lock race between two connections.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import datetime, timedelta

import pytest
from sqlalchemy.pool import QueuePool
from tradebot.crypto.vault import ExchangeCredentials
from tradebot.db.engine import get_engine
from tradebot.db.models import utcnow
from tradebot.errors import RetryableExchangeError
from tradebot.exchange.base import Exchange, OrderRequest, OrderResult
from tradebot.exchange.factory import binance_exchange
from tradebot.market.prices import write_prices
from tradebot.market.updater import stranded_orders
from tradebot.orders.executor import Executor, OrderInProgress
from tradebot.orders.messages import OrderMessage
from tradebot.settings import get_settings

from devstack.functions import load_function
from devstack.lambda_events import FakeLambdaContext, sqs_event
from devstack.recording import record_statements
from tests.fakes.binance_server import TRADES_PATH, BinanceFake
from tests.integration.conftest import MAX_RECEIVES
from tests.trading_support import (
    API_KEY,
    ORDER_PATH,
    STARTING_USDT,
    D,
    DiesAfterPlacing,
    OrderQueueHarness,
    balances,
    fee_down,
    get_trade,
    placed,
    replace_stored_key,
    run_concurrently,
    set_prices,
    store_key,
    trade_row,
)

User = tuple[str, str]
MARKET_BUY = {"symbol": "BTCUSDT", "side": "BUY", "type": "MARKET", "quantity": "0.001"}


def no_sleep(_seconds: float) -> None:
    return None


@pytest.fixture
def live_trader(binance_fake: BinanceFake, trader: User) -> User:
    """A trader with a stored key; no order queue, so trades stay PENDING until executed here."""
    _, token = trader
    store_key(token)
    set_prices(BTCUSDT="95000.00")
    return trader


class PlacesWhenAllowed(DiesAfterPlacing):
    """The real exchange, holding placement until the test allows it (a slow invocation)."""

    def __init__(self, real: Exchange, placing: threading.Event, allowed: threading.Event) -> None:
        super().__init__(real)
        self.placing, self.allowed = placing, allowed

    def place_order(self, order: OrderRequest) -> OrderResult:
        self.placing.set()
        assert self.allowed.wait(10)
        return self.real.place_order(order)


def executor(
    wrap: Callable[[Exchange], Exchange] | None = None,
    clock: Callable[[], datetime] = utcnow,
    worker_id: str = "executor",
) -> Executor:
    def live_exchange(credentials: ExchangeCredentials) -> Exchange:
        real = binance_exchange(credentials)
        return wrap(real) if wrap else real

    return Executor(live_exchange=live_exchange, clock=clock, sleep=no_sleep, worker_id=worker_id)


def place_message(trade_id: str) -> OrderMessage:
    return OrderMessage(trade_id=trade_id, action="place")


# --- redelivery -----------------------------------------------------------------------------


def test_a_message_delivered_three_times_places_one_live_order(
    order_queue: OrderQueueHarness, binance_fake: BinanceFake, live_trader: User
) -> None:
    _, token = live_trader
    trade = placed(token, MARKET_BUY)
    (message,) = order_queue.receive()
    handler = load_function("order_executor").handler

    responses = [
        handler(
            sqs_event(
                [message["Body"]],
                queue_arn=order_queue.queue.arn,
                message_ids=[message["MessageId"]],
                receive_count=count,
                group_id=message["Attributes"]["MessageGroupId"],
            ),
            FakeLambdaContext(function_name="order_executor"),
        )
        for count in (1, 2, 3)
    ]

    assert responses == [{"batchItemFailures": []}] * 3
    assert len(binance_fake.placed_orders) == 1
    assert binance_fake.placed_orders[0]["newClientOrderId"] == trade["client_order_id"]
    assert len(binance_fake.requests_to("POST", "/api/v3/order")) == 1
    assert get_trade(token, trade["id"])["status"] == "FILLED"


def test_a_paper_message_delivered_three_times_fills_and_debits_once(trader: User) -> None:
    user_id, token = trader
    set_prices(BTCUSDT="95000.00")
    trade = placed(token, MARKET_BUY)

    for count in (1, 2, 3):
        Executor(sleep=no_sleep).execute(place_message(trade["id"]), receive_count=count)

    assert get_trade(token, trade["id"])["status"] == "FILLED"
    assert balances(user_id) == {
        "USDT": (STARTING_USDT - D("0.001") * D(95000), D(0)),
        "BTC": (D("0.001") - fee_down(D("0.001")), D(0)),
    }


# --- concurrent delivery --------------------------------------------------------------------


def test_two_executors_given_the_same_live_message_at_once_place_one_order(
    binance_fake: BinanceFake, live_trader: User
) -> None:
    _, token = live_trader
    trade = placed(token, MARKET_BUY)
    binance_fake.latency_s = 0.2  # placement is slow: the second executor arrives meanwhile
    message = place_message(trade["id"])

    outcomes = run_concurrently(
        lambda: executor(worker_id="a").execute(message),
        lambda: executor(worker_id="b").execute(message),
    )

    assert len(binance_fake.placed_orders) == 1
    assert get_trade(token, trade["id"])["status"] == "FILLED"
    # The loser either saw the claim (retried later, harmlessly) or the finished trade.
    assert all(o is None or isinstance(o, OrderInProgress) for o in outcomes), outcomes


def test_two_executors_given_the_same_paper_message_at_once_fill_it_once(trader: User) -> None:
    user_id, token = trader
    set_prices(BTCUSDT="95000.00")
    trade = placed(token, MARKET_BUY)
    message = place_message(trade["id"])

    outcomes = run_concurrently(
        lambda: Executor(sleep=no_sleep, worker_id="a").execute(message),
        lambda: Executor(sleep=no_sleep, worker_id="b").execute(message),
    )

    assert outcomes == [None, None]
    assert get_trade(token, trade["id"])["status"] == "FILLED"
    assert balances(user_id)["USDT"] == (STARTING_USDT - D("0.001") * D(95000), D(0))


# --- an executor dies between placing and recording ----------------------------------------


def test_after_a_crash_between_placing_and_recording_the_retry_finds_and_records_the_order(
    binance_fake: BinanceFake, live_trader: User
) -> None:
    _, token = live_trader
    trade = placed(token, MARKET_BUY)
    message = place_message(trade["id"])
    crashed_at = utcnow()
    lease = timedelta(seconds=get_settings().order_claim_lease_s)

    with pytest.raises(RuntimeError, match="killed"):
        executor(DiesAfterPlacing, clock=lambda: crashed_at).execute(message)
    assert len(binance_fake.placed_orders) == 1
    assert get_trade(token, trade["id"])["status"] == "PENDING"

    # Within the lease the claim may still belong to a live invocation: nothing is placed.
    with pytest.raises(OrderInProgress):
        executor(clock=lambda: crashed_at + lease / 2).execute(message, receive_count=2)
    assert len(binance_fake.requests_to("POST", "/api/v3/order")) == 1

    # Past the lease the sweeper re-sends it, and the redelivery looks it up by client id.
    swept = stranded_orders(crashed_at + lease + timedelta(seconds=1))
    assert (message, trade_row(trade["id"]).user_id) in swept
    executor(clock=lambda: crashed_at + lease + timedelta(seconds=1)).execute(
        message, receive_count=3
    )

    recorded = get_trade(token, trade["id"])
    assert recorded["status"] == "FILLED"
    assert recorded["exchange_order_id"] == str(
        binance_fake.orders[trade["client_order_id"]]["orderId"]
    )
    # The look-up has no fills: the fee comes from the trade list, as placing would have said.
    (fill,) = binance_fake.orders[trade["client_order_id"]]["fills"]
    assert (D(recorded["fee"]), recorded["fee_asset"]) == (
        D(fill["commission"]),
        fill["commissionAsset"],
    )
    assert len(binance_fake.placed_orders) == 1
    assert len(binance_fake.requests_to("POST", "/api/v3/order")) == 1


def test_a_claim_taken_and_released_after_the_trade_was_read_still_means_look_up_first(
    binance_fake: BinanceFake, live_trader: User
) -> None:
    if get_engine().dialect.name == "sqlite":
        pytest.skip("SQLite serializes whole transactions; the interleaving needs row locks")
    _, token = live_trader
    trade = placed(token, MARKET_BUY)
    message = place_message(trade["id"])
    # Executor B's order lands (answer lost, found by its look-up) but its fee cannot be read:
    # B ends its attempt and releases the claim.
    binance_fake.fail_next("-1007", path=ORDER_PATH)
    binance_fake.fail_next("503", count=3, path=TRADES_PATH)
    interleaved: list[BaseException | None] = []

    def clock_after_b_ran() -> datetime:
        # A has read the trade (unclaimed) and is about to claim it: B runs entirely now.
        if not interleaved:
            interleaved.extend(run_concurrently(lambda: executor(worker_id="b").execute(message)))
        return utcnow()

    executor(clock=clock_after_b_ran, worker_id="a").execute(message, receive_count=2)

    assert isinstance(interleaved[0], RetryableExchangeError)
    assert get_trade(token, trade["id"])["status"] == "FILLED"
    assert len(binance_fake.placed_orders) == 1
    assert len(binance_fake.requests_to("POST", ORDER_PATH)) == 1


def test_the_last_delivery_does_not_fail_an_order_another_executor_is_placing(
    binance_fake: BinanceFake, live_trader: User
) -> None:
    _, token = live_trader
    trade = placed(token, MARKET_BUY)
    message = place_message(trade["id"])
    placing, allowed = threading.Event(), threading.Event()
    errors: list[BaseException] = []

    def slow_first_delivery() -> None:
        try:
            executor(lambda real: PlacesWhenAllowed(real, placing, allowed)).execute(message)
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    first = threading.Thread(target=slow_first_delivery)
    first.start()
    try:
        assert placing.wait(10)
        # A duplicate delivery on its last receive meets the live claim.
        with pytest.raises(OrderInProgress):
            executor(worker_id="late").execute(message, receive_count=MAX_RECEIVES)
        assert get_trade(token, trade["id"])["status"] == "PENDING"
    finally:
        allowed.set()
        first.join(10)

    assert errors == []
    assert get_trade(token, trade["id"])["status"] == "FILLED"
    assert len(binance_fake.placed_orders) == 1


def test_a_paper_order_without_a_price_on_its_last_delivery_is_failed(
    trader: User,
) -> None:
    _, token = trader
    set_prices(BTCUSDT="95000.00")
    trade = placed(token, MARKET_BUY)
    write_prices({"BTCUSDT": D("95000.00")}, at=utcnow().timestamp() - 600)  # stale now

    with pytest.raises(RetryableExchangeError, match="stale"):
        Executor(sleep=no_sleep).execute(place_message(trade["id"]), receive_count=1)
    assert get_trade(token, trade["id"])["status"] == "PENDING"
    with pytest.raises(RetryableExchangeError, match="stale"):
        Executor(sleep=no_sleep).execute(place_message(trade["id"]), receive_count=MAX_RECEIVES)

    failed = get_trade(token, trade["id"])
    assert failed["status"] == "FAILED"
    assert "stale" in failed["reason"]


# --- the claim ------------------------------------------------------------------------------


class RecordsCredentials:
    """An exchange factory that notes whose key each placement gets, then uses the fake."""

    def __init__(self) -> None:
        self.keys: list[str] = []

    def __call__(self, credentials: ExchangeCredentials) -> Exchange:
        self.keys.append(credentials.api_key.get_secret_value())
        return binance_exchange(credentials)


def test_each_live_trade_is_placed_with_its_owners_key_as_accepted(
    binance_fake: BinanceFake, live_trader: User, other_trader: User
) -> None:
    # The claim reads the key with the trade: it must be the owner's, whoever stored one first,
    # and the very credential the order was accepted for.
    _, token = live_trader
    other_id, other_token = other_trader
    store_key(other_token)
    mine, theirs = placed(token, MARKET_BUY), placed(other_token, MARKET_BUY)
    # The other trader's stored key then changes (to one the fake does not accept); the API
    # refuses that while their order may be open, so it changes behind the API's back. Their
    # order is never placed with the new one.
    other_key = "otherKey" + "7" * 56
    replace_stored_key(other_id, api_key=other_key, api_secret="otherSecret" + "8" * 53)
    factory = RecordsCredentials()
    executor = Executor(live_exchange=factory, sleep=no_sleep)

    executor.execute(place_message(theirs["id"]))
    executor.execute(place_message(mine["id"]))

    assert factory.keys == [API_KEY]
    assert get_trade(token, mine["id"])["status"] == "FILLED"
    rejected = get_trade(other_token, theirs["id"])
    assert rejected["status"] == "REJECTED"
    assert rejected["reason"] == "The API key changed after this order was accepted"
    assert [o["newClientOrderId"] for o in binance_fake.placed_orders] == [mine["client_order_id"]]


def test_a_live_claim_is_one_statement_on_postgresql(
    binance_fake: BinanceFake, live_trader: User
) -> None:
    engine = get_engine()
    if engine.dialect.name != "postgresql":
        pytest.skip("SQLite reads the key with a second statement")
    _, token = live_trader
    trade = placed(token, MARKET_BUY)
    with record_statements(engine) as recording:
        executor().execute(place_message(trade["id"]))
    executed = [verb for verb in recording.verbs() if verb != "BEGIN"]

    # Claiming (with the order and the owner's key) is one UPDATE ... RETURNING, committed
    # before Binance is called.
    assert executed[: executed.index("COMMIT") + 1] == ["UPDATE", "COMMIT"]
    assert get_trade(token, trade["id"])["status"] == "FILLED"


def test_the_executor_keeps_a_connection_for_every_group_of_a_batch() -> None:
    from tradebot.orders.batch import MAX_CONCURRENT_GROUPS

    load_function("order_executor")
    pool = get_engine().pool
    if get_engine().dialect.name != "postgresql" or not isinstance(pool, QueuePool):
        pytest.skip("only a PostgreSQL pool is sized")
    assert pool.size() >= MAX_CONCURRENT_GROUPS
