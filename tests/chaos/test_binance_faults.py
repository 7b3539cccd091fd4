"""The Binance fake failing in every way it can, once and for good, on real SQS deliveries and a
real PostgreSQL: each trade ends in the state the fault calls for, with a reason, the order is
placed at most once, and every retry is counted in the fake's own request log.

tests/integration/test_trading_live.py walks through the interesting cases one by one; this is
the exhaustive table over every fault kind the fake knows.
"""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from tests.chaos.conftest import ChaosLedger, Services
from tests.fakes.binance_server import ERRORS, FAULT_KINDS, BinanceFake
from tests.integration.conftest import MAX_RECEIVES
from tests.trading_support import (
    ORDER_PATH,
    OrderQueueHarness,
    get_trade,
    order_requests,
    placed,
    set_prices,
    store_key,
)

pytestmark = pytest.mark.chaos
User = tuple[str, str]
MARKET_BUY = {"symbol": "BTCUSDT", "side": "BUY", "type": "MARKET", "quantity": "0.001"}
BACKOFF = [0.2, 0.4]  # the executor's three attempts per delivery wait 0.2 s, then 0.4 s


@dataclass(frozen=True)
class Transient:
    """One failure, then Binance answers: what the executor sends, how long it waits, and the
    state the trade is in once the delivery is done."""

    methods: tuple[str, ...]
    sleeps: tuple[float, ...]
    status: str = "FILLED"


# A failure that clears. Maybe placed: looked up once, never sent again (found, or RECONCILING
# for the reconciler). Refused before processing: placed again.
TRANSIENT: dict[str, Transient] = {
    "timeout": Transient(("POST", "GET"), (0.2,)),  # placed, answer lost: found
    "-1007": Transient(("POST", "GET"), (0.2,)),  # placed, "execution status unknown": found
    "-1006": Transient(("POST", "GET"), (0.2,)),
    "placed-500": Transient(("POST", "GET"), (0.2,)),  # placed, answered 500: found
    "drop": Transient(("POST", "GET"), (0.2,)),  # placed, connection closed: found
    "500": Transient(("POST", "GET"), (0.2,), "RECONCILING"),  # not found: never sent again
    "503": Transient(("POST", "GET"), (0.2,), "RECONCILING"),
    "429": Transient(("POST", "POST"), (1.0,)),  # Retry-After: 1, and no look-up needed
    "418": Transient(("POST", "POST"), (1.0,)),
    "-1003": Transient(("POST", "POST"), (0.2,)),
    "-1021": Transient(("POST", "POST"), (0.2,)),  # clock resynced in between
}
# Kinds whose orders were processed by Binance although the answer said otherwise.
PLACED_DESPITE_FAILURE = {"timeout", "-1007", "-1006", "placed-500", "drop"}
# Kinds answered before Binance processed anything: certainly not placed, so placed again.
NOT_PLACED = {"429", "418", "-1003", "-1021"}
RETRYABLE = set(TRANSIENT)
MAYBE_PLACED = sorted(RETRYABLE - NOT_PLACED)
PERMANENT = sorted(FAULT_KINDS - RETRYABLE)
# Every delivery makes three attempts, each refused: FAILED on the last receive.
PERSISTENT_REQUESTS = 3 * MAX_RECEIVES


@pytest.fixture
def live_trader(
    services: Services, order_queue: OrderQueueHarness, binance_fake: BinanceFake
) -> User:
    """A trader on this test's database, with a key stored and the fake's prices cached."""
    from tests.support import register_and_login

    user = register_and_login("live@example.com")
    store_key(user[1])
    set_prices(**{symbol: str(price) for symbol, price in binance_fake.prices.items()})
    return user


def test_every_fault_kind_is_covered_by_the_table() -> None:
    assert set(PERMANENT) | RETRYABLE == FAULT_KINDS
    assert all(kind.lstrip("-").isdigit() and int(kind) in ERRORS for kind in PERMANENT)


@pytest.mark.parametrize("kind", sorted(RETRYABLE))
def test_a_retryable_fault_that_clears_fills_the_order_once_after_counted_retries(
    kind: str,
    live_trader: User,
    order_queue: OrderQueueHarness,
    binance_fake: BinanceFake,
    recorded_sleeps: list[float],
    ledger: ChaosLedger,
) -> None:
    _, token = live_trader
    binance_fake.fail_next(kind, path=ORDER_PATH)
    trade = placed(token, MARKET_BUY)

    (delivery,) = order_queue.drain()

    expected = TRANSIENT[kind]
    done = get_trade(token, trade["id"])
    assert delivery.failed == set()
    assert done["status"] == expected.status, done
    if expected.status == "FILLED":
        exchange_order = binance_fake.orders[trade["client_order_id"]]
        assert done["exchange_order_id"] == str(exchange_order["orderId"])
        assert [p["newClientOrderId"] for p in binance_fake.placed_orders] == [
            trade["client_order_id"]
        ]
    else:
        assert binance_fake.placed_orders == []  # and never sent again: the reconciler decides
    assert tuple(r.method for r in order_requests(binance_fake)) == expected.methods
    assert tuple(recorded_sleeps) == expected.sleeps
    if kind == "-1021":
        assert len(binance_fake.requests_to("GET", "/api/v3/time")) == 1
    ledger.fault(f"binance {kind}: one failed answer, then {expected.status}")


@pytest.mark.parametrize("kind", sorted(NOT_PLACED))
def test_a_refusal_before_processing_that_persists_fails_the_trade_on_the_last_receive(
    kind: str,
    live_trader: User,
    order_queue: OrderQueueHarness,
    binance_fake: BinanceFake,
    recorded_sleeps: list[float],
    ledger: ChaosLedger,
) -> None:
    _, token = live_trader
    binance_fake.fail_next(kind, count=1000, path=ORDER_PATH)
    trade = placed(token, MARKET_BUY)

    deliveries = order_queue.drain(max_rounds=MAX_RECEIVES)

    failed = get_trade(token, trade["id"])
    assert [d.receive_counts for d in deliveries] == [[n] for n in range(1, MAX_RECEIVES + 1)]
    assert failed["status"] == "FAILED", failed
    assert failed["reason"].startswith("Could not be executed after retries: ")
    # Refused for certain every time: placed again each attempt, never looked up. A 429/418
    # holds every function back until its Retry-After: redelivered at once here (SQS would wait
    # its visibility timeout), each later delivery's first call is refused unsent.
    held_back = kind in ("429", "418")
    later = MAX_RECEIVES - 1
    sent = 3 + 2 * later if held_back else PERSISTENT_REQUESTS
    assert [r.method for r in order_requests(binance_fake)] == ["POST"] * sent
    assert binance_fake.placed_orders == []
    if held_back:  # Retry-After: 1, and the rest of it after a refused first call
        assert recorded_sleeps == [1.0, 1.0] + [pytest.approx(1.0, abs=0.1), 1.0] * later
    else:
        assert recorded_sleeps == BACKOFF * MAX_RECEIVES
    assert order_queue.deliver() is None
    assert len(order_queue.dead_letters()) == 1
    ledger.fault(f"binance {kind}: refusals until FAILED", sent)


@pytest.mark.parametrize("kind", MAYBE_PLACED)
def test_a_maybe_placed_fault_that_persists_is_sent_once_and_left_to_the_reconciler(
    kind: str,
    live_trader: User,
    order_queue: OrderQueueHarness,
    binance_fake: BinanceFake,
    recorded_sleeps: list[float],
    ledger: ChaosLedger,
) -> None:
    _, token = live_trader
    binance_fake.fail_next(kind, count=1000, path=ORDER_PATH)  # the look-up fails as well
    trade = placed(token, MARKET_BUY)

    (delivery,) = order_queue.drain(max_rounds=MAX_RECEIVES)

    waiting = get_trade(token, trade["id"])
    assert delivery.failed == set()  # done: retrying could only place it twice
    assert waiting["status"] == "RECONCILING", waiting
    assert trade["client_order_id"] in waiting["reason"]
    assert [r.method for r in order_requests(binance_fake)] == ["POST", "GET"]
    expected_placed = 1 if kind in PLACED_DESPITE_FAILURE else 0
    assert len(binance_fake.placed_orders) == expected_placed
    assert recorded_sleeps == [0.2]
    assert order_queue.depth() == 0
    ledger.fault(f"binance {kind}: failed answers until RECONCILING", 2)


@pytest.mark.parametrize("kind", PERMANENT)
def test_a_permanent_refusal_rejects_the_trade_with_binances_reason_at_once(
    kind: str,
    live_trader: User,
    order_queue: OrderQueueHarness,
    binance_fake: BinanceFake,
    recorded_sleeps: list[float],
    ledger: ChaosLedger,
) -> None:
    _, token = live_trader
    binance_fake.fail_next(kind, count=1000, path=ORDER_PATH)
    trade = placed(token, MARKET_BUY)

    (delivery,) = order_queue.drain()

    rejected = get_trade(token, trade["id"])
    assert delivery.failed == set()  # done: a retry cannot change the answer
    assert rejected["status"] == "REJECTED", rejected
    assert ERRORS[int(kind)][1] in rejected["reason"]
    assert [r.method for r in order_requests(binance_fake)] == ["POST"]
    assert binance_fake.placed_orders == []
    assert recorded_sleeps == []
    assert order_queue.depth() == 0
    ledger.fault(f"binance {kind}: refusal")
