"""Recording what the exchange reports on a trade: fills counted once, fees kept, forward only."""

from __future__ import annotations

from decimal import Decimal

import pytest
from tradebot.db.engine import unit_of_work
from tradebot.db.models import Trade
from tradebot.exchange.base import ExchangeOrderStatus, OrderResult
from tradebot.orders.recording import record_result

from tests.trading_support import D, position, trade_row

User = tuple[str, str]


@pytest.fixture
def live_limit(trader: User) -> str:
    """A live LIMIT BUY of 0.01 BTC at 90000, as placed (PENDING, never recorded)."""
    user_id, _ = trader
    with unit_of_work() as session:
        trade = Trade(
            user_id=user_id,
            symbol="BTCUSDT",
            side="BUY",
            type="LIMIT",
            quantity=D("0.01"),
            price=D(90000),
            status="PENDING",
            client_order_id="c-1",
            trading_mode="live",
        )
        session.add(trade)
        session.flush()
        return trade.id


def report(
    trade_id: str,
    status: ExchangeOrderStatus,
    executed: str,
    fee: str = "0",
    fee_asset: str | None = None,
) -> None:
    result = OrderResult(
        symbol="BTCUSDT",
        client_order_id="c-1",
        exchange_order_id="777",
        status=status,
        executed_qty=D(executed),
        cumulative_quote_qty=D(executed) * 90000,
        fee=D(fee),
        fee_asset=fee_asset,
    )
    with unit_of_work() as session:
        trade = session.get(Trade, trade_id, with_for_update=True)
        assert trade is not None
        record_result(session, trade, result)


def test_each_fill_reaches_the_position_once(trader: User, live_limit: str) -> None:
    user_id, _ = trader

    report(live_limit, "PARTIALLY_FILLED", "0.004", fee="0.000004", fee_asset="BTC")
    report(live_limit, "PARTIALLY_FILLED", "0.004", fee="0.000004", fee_asset="BTC")  # again
    report(live_limit, "FILLED", "0.01", fee="0.00001", fee_asset="BTC")
    report(live_limit, "FILLED", "0.01", fee="0.00001", fee_asset="BTC")  # again

    held = position(user_id, "BTCUSDT")
    assert held is not None
    assert held.quantity == D("0.01") - D("0.00001")
    assert held.fills == 1
    assert held.volume == D(900)
    trade = trade_row(live_limit)
    assert (trade.status, trade.executed_qty, trade.fee) == ("FILLED", D("0.01"), D("0.00001"))
    assert trade.avg_price == D(90000)
    assert trade.exchange_order_id == "777"


def test_a_lookup_without_fills_keeps_the_fee_already_recorded(
    trader: User, live_limit: str
) -> None:
    user_id, _ = trader
    # Placement answered with fills (and their commission); a later GET /order has no fills.
    report(live_limit, "PARTIALLY_FILLED", "0.004", fee="0.000004", fee_asset="BTC")

    report(live_limit, "FILLED", "0.01")

    trade = trade_row(live_limit)
    assert trade.status == "FILLED"
    assert (trade.fee, trade.fee_asset) == (D("0.000004"), "BTC")
    held = position(user_id, "BTCUSDT")
    assert held is not None
    # The known fee is deducted once; the rest of the fill's fee is not known to us.
    assert held.quantity == D("0.01") - D("0.000004")


def test_a_late_report_of_an_earlier_state_changes_nothing(trader: User, live_limit: str) -> None:
    user_id, _ = trader
    report(live_limit, "FILLED", "0.01", fee="0.00001", fee_asset="BTC")

    report(live_limit, "NEW", "0")
    report(live_limit, "PARTIALLY_FILLED", "0.004", fee="0.000004", fee_asset="BTC")
    report(live_limit, "CANCELED", "0.01")

    trade = trade_row(live_limit)
    assert (trade.status, trade.executed_qty, trade.fee) == ("FILLED", D("0.01"), D("0.00001"))
    held = position(user_id, "BTCUSDT")
    assert held is not None
    assert held.quantity == D("0.01") - D("0.00001")
    assert isinstance(held.quantity, Decimal)
