"""The trade state machine: status moves only forward; recording ignores backwards moves."""

from __future__ import annotations

from decimal import Decimal
from typing import cast

import pytest
from sqlalchemy.orm import Session
from tradebot.db.models import Trade
from tradebot.exchange.base import ExchangeOrderStatus, OrderResult
from tradebot.orders.recording import record_result
from tradebot.orders.state import OPEN, TERMINAL, IllegalTransition, can_move, check_move

ALL = [
    "PENDING",
    "RECONCILING",
    "NEW",
    "PARTIALLY_FILLED",
    "FILLED",
    "CANCELED",
    "REJECTED",
    "EXPIRED",
    "FAILED",
]

LEGAL = [
    ("PENDING", "NEW"),
    ("PENDING", "PARTIALLY_FILLED"),
    ("PENDING", "FILLED"),
    ("PENDING", "CANCELED"),
    ("PENDING", "REJECTED"),
    ("PENDING", "EXPIRED"),
    ("PENDING", "FAILED"),
    ("PENDING", "RECONCILING"),
    ("RECONCILING", "RECONCILING"),
    ("RECONCILING", "NEW"),
    ("RECONCILING", "PARTIALLY_FILLED"),
    ("RECONCILING", "FILLED"),
    ("RECONCILING", "CANCELED"),
    ("RECONCILING", "EXPIRED"),
    ("RECONCILING", "FAILED"),
    ("NEW", "NEW"),
    ("NEW", "PARTIALLY_FILLED"),
    ("NEW", "FILLED"),
    ("NEW", "CANCELED"),
    ("NEW", "EXPIRED"),
    ("PARTIALLY_FILLED", "PARTIALLY_FILLED"),
    ("PARTIALLY_FILLED", "FILLED"),
    ("PARTIALLY_FILLED", "CANCELED"),
    ("PARTIALLY_FILLED", "EXPIRED"),
]

ILLEGAL = [
    ("FILLED", "NEW"),
    ("FILLED", "CANCELED"),
    ("FILLED", "PARTIALLY_FILLED"),
    ("CANCELED", "FILLED"),
    ("CANCELED", "NEW"),
    ("REJECTED", "FILLED"),
    ("FAILED", "FILLED"),
    ("EXPIRED", "NEW"),
    ("PARTIALLY_FILLED", "NEW"),
    ("PARTIALLY_FILLED", "PENDING"),
    ("NEW", "PENDING"),
    ("NEW", "FAILED"),  # FAILED means never placed; an open order was placed
    ("PARTIALLY_FILLED", "REJECTED"),
    ("RECONCILING", "PENDING"),  # a maybe-placed order is never queued for placing again
    ("NEW", "RECONCILING"),
    ("FAILED", "RECONCILING"),
    ("REJECTED", "RECONCILING"),
]


@pytest.mark.parametrize(("current", "new"), LEGAL)
def test_forward_moves_are_allowed(current: str, new: str) -> None:
    assert can_move(current, new)
    check_move(current, new)


@pytest.mark.parametrize(("current", "new"), ILLEGAL)
def test_backward_moves_and_moves_out_of_a_final_state_are_refused(current: str, new: str) -> None:
    assert not can_move(current, new)
    with pytest.raises(IllegalTransition, match=f"from {current} to {new}"):
        check_move(current, new)


@pytest.mark.parametrize("final", sorted(TERMINAL))
def test_a_final_state_never_moves_again(final: str) -> None:
    assert [new for new in ALL if can_move(final, new)] == []


def test_nothing_ever_moves_back_to_pending() -> None:
    assert [current for current in ALL if can_move(current, "PENDING")] == []


def test_an_illegal_move_is_a_409_conflict() -> None:
    with pytest.raises(IllegalTransition) as caught:
        check_move("FILLED", "NEW")

    assert caught.value.status == 409


def test_open_and_terminal_states_partition_the_placed_states() -> None:
    assert OPEN | TERMINAL | {"PENDING", "RECONCILING"} == set(ALL)
    assert not OPEN & TERMINAL


def _trade(status: str, executed: str = "0") -> Trade:
    return Trade(
        id="t-1",
        user_id="u-1",
        symbol="BTCUSDT",
        side="BUY",
        type="LIMIT",
        quantity=Decimal("0.01"),
        price=Decimal(90000),
        status=status,
        executed_qty=Decimal(executed),
        cumulative_quote_qty=Decimal(executed) * 90000,
        fee=Decimal(0),
        client_order_id="c-1",
        trading_mode="paper",
    )


def _result(status: ExchangeOrderStatus, executed: str = "0") -> OrderResult:
    return OrderResult(
        symbol="BTCUSDT",
        client_order_id="c-1",
        exchange_order_id="42",
        status=status,
        executed_qty=Decimal(executed),
        cumulative_quote_qty=Decimal(executed) * 90000,
    )


# A session that must not be touched: an ignored result changes nothing, anywhere.
UNTOUCHED = cast(Session, None)


@pytest.mark.parametrize(
    ("current", "executed", "late"),
    [
        ("FILLED", "0.01", _result("NEW")),
        ("FILLED", "0.01", _result("PARTIALLY_FILLED", "0.005")),
        ("CANCELED", "0", _result("FILLED", "0.01")),
        ("CANCELED", "0", _result("NEW")),
        ("PARTIALLY_FILLED", "0.005", _result("NEW")),
        ("REJECTED", "0", _result("FILLED", "0.01")),
        ("FILLED", "0.01", _result("FILLED", "0.01")),  # the same fill reported twice
    ],
)
def test_record_result_ignores_a_backwards_or_repeated_report(
    current: str, executed: str, late: OrderResult
) -> None:
    trade = _trade(current, executed)

    record_result(UNTOUCHED, trade, late)

    assert trade.status == current
    assert trade.executed_qty == Decimal(executed)
    assert trade.exchange_order_id is None
