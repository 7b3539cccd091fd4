"""Recording what the exchange reports on a trade: fills counted once, fees kept, forward only."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from tradebot.db.engine import unit_of_work
from tradebot.db.models import Trade
from tradebot.exchange.base import ExchangeOrderStatus, OrderResult
from tradebot.orders.recording import record_result

from tests.trading_support import D, position, set_prices, trade_row

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
    fees: dict[str, str] | None = None,
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
        fees=tuple((asset, D(amount)) for asset, amount in (fees or {}).items()),
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
    assert trade.fees == [{"asset": "BTC", "amount": "0.00001"}]
    assert trade.fee_pending is False
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
    assert trade.fee_pending is True  # the last 0.006's fee is not known yet
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


# --- stale reports ---------------------------------------------------------------------------


def test_a_stale_report_of_less_executed_changes_nothing_and_is_logged(
    trader: User, live_limit: str, caplog: pytest.LogCaptureFixture
) -> None:
    user_id, _ = trader
    report(live_limit, "PARTIALLY_FILLED", "0.004", fee="0.000004", fee_asset="BTC")

    # A lagging look-up, then a cancel answer that lags as well: executed_qty never decreases.
    report(live_limit, "PARTIALLY_FILLED", "0.002", fee="0.000002", fee_asset="BTC")
    report(live_limit, "CANCELED", "0.003")

    trade = trade_row(live_limit)
    assert (trade.status, trade.executed_qty) == ("PARTIALLY_FILLED", D("0.004"))
    assert trade.cumulative_quote_qty == D("0.004") * 90000
    assert trade.fees == [{"asset": "BTC", "amount": "0.000004"}]
    held = position(user_id, "BTCUSDT")
    assert held is not None
    assert (held.quantity, held.volume) == (D("0.004") - D("0.000004"), D(360))
    assert caplog.text.count("stale report") == 2


def test_the_same_report_twice_applies_its_fill_and_fee_once(trader: User, live_limit: str) -> None:
    user_id, _ = trader
    set_prices(BNBUSDT="600")
    for _ in range(2):
        report(live_limit, "FILLED", "0.01", fees={"BNB": "0.0015"})

    held = position(user_id, "BTCUSDT")
    assert held is not None
    assert held.quantity == D("0.01")
    assert held.avg_entry_price == (D(900) + D("0.0015") * 600) / D("0.01")
    assert trade_row(live_limit).fees == [{"asset": "BNB", "amount": "0.0015"}]


# --- every commission asset ------------------------------------------------------------------


def test_every_commission_asset_is_kept_and_the_first_is_fee(trader: User, live_limit: str) -> None:
    user_id, _ = trader
    set_prices(BNBUSDT="600")

    # The BNB discount ran out mid-order: the later fills were charged in BTC.
    report(live_limit, "FILLED", "0.01", fees={"BNB": "0.001", "BTC": "0.000003"})

    trade = trade_row(live_limit)
    assert trade.fees == [
        {"asset": "BNB", "amount": "0.001"},
        {"asset": "BTC", "amount": "0.000003"},
    ]
    assert (trade.fee, trade.fee_asset) == (D("0.001"), "BNB")
    held = position(user_id, "BTCUSDT")
    assert held is not None
    # BTC commission reduces what was received; BNB's counts as cost at BNBUSDT now.
    assert held.quantity == D("0.01") - D("0.000003")
    cost = D(900) + D("0.001") * 600
    assert held.avg_entry_price == (cost / (D("0.01") - D("0.000003"))).quantize(D("1e-18"))


def test_fees_of_cumulative_reports_are_merged_per_asset_not_added_up(
    trader: User, live_limit: str
) -> None:
    user_id, _ = trader
    set_prices(BNBUSDT="600")

    report(live_limit, "PARTIALLY_FILLED", "0.004", fees={"BNB": "0.001"})
    report(live_limit, "FILLED", "0.01", fees={"BNB": "0.0015", "BTC": "0.000002"})

    trade = trade_row(live_limit)
    assert trade.fees == [
        {"asset": "BNB", "amount": "0.0015"},
        {"asset": "BTC", "amount": "0.000002"},
    ]
    held = position(user_id, "BTCUSDT")
    assert held is not None
    assert held.quantity == D("0.01") - D("0.000002")
    # Both fills' BNB (0.0015 in all, not 0.0025) at 600 USDT is part of the cost.
    cost = D(900) + D("0.0015") * 600
    assert held.avg_entry_price == (cost / held.quantity).quantize(D("1e-18"))


def test_a_third_asset_fee_without_a_price_is_recorded_unconverted_and_logged(
    trader: User, live_limit: str, caplog: pytest.LogCaptureFixture
) -> None:
    user_id, _ = trader  # no BNBUSDT price is cached

    report(live_limit, "FILLED", "0.01", fees={"BNB": "0.0015"})

    trade = trade_row(live_limit)
    assert (trade.status, trade.fees) == ("FILLED", [{"asset": "BNB", "amount": "0.0015"}])
    held = position(user_id, "BTCUSDT")
    assert held is not None
    assert (held.quantity, held.avg_entry_price) == (D("0.01"), D(90000))
    assert "not converted" in caplog.text


# --- a fee learned after its fill ------------------------------------------------------------


def test_a_fill_without_its_fee_is_pending_until_a_result_with_the_fee_fills_it_in_once(
    trader: User, live_limit: str
) -> None:
    user_id, _ = trader
    report(live_limit, "FILLED", "0.01")  # e.g. the trade list could not be read
    pending = trade_row(live_limit)
    assert (pending.fee_pending, pending.fee_asset, pending.fees) == (True, None, [])

    # The reconciler's result from with_commission: same state, now with the fee.
    for _ in range(2):
        report(live_limit, "FILLED", "0.01", fee="0.00001", fee_asset="BTC")

    trade = trade_row(live_limit)
    assert (trade.fee_pending, trade.fee, trade.fee_asset) == (False, D("0.00001"), "BTC")
    assert trade.fees == [{"asset": "BTC", "amount": "0.00001"}]
    held = position(user_id, "BTCUSDT")
    assert held is not None
    assert held.quantity == D("0.01") - D("0.00001")
    assert held.avg_entry_price == (D(900) / (D("0.01") - D("0.00001"))).quantize(D("1e-18"))
    assert (held.fills, held.volume) == (1, D(900))


def test_a_pending_fee_is_completed_by_the_next_report_that_knows_it(
    trader: User, live_limit: str
) -> None:
    user_id, _ = trader
    report(live_limit, "PARTIALLY_FILLED", "0.004", fee="0.000004", fee_asset="BTC")
    report(live_limit, "PARTIALLY_FILLED", "0.006")  # fee unknown
    assert trade_row(live_limit).fee_pending is True

    report(live_limit, "FILLED", "0.01", fee="0.00001", fee_asset="BTC")

    trade = trade_row(live_limit)
    assert (trade.fee_pending, trade.fees) == (False, [{"asset": "BTC", "amount": "0.00001"}])
    held = position(user_id, "BTCUSDT")
    assert held is not None
    assert held.quantity == D("0.01") - D("0.00001")


def test_a_later_report_without_fees_keeps_them(trader: User, live_limit: str) -> None:
    report(live_limit, "FILLED", "0.01", fees={"BNB": "0.001", "BTC": "0.000003"})
    before: Any = trade_row(live_limit).fees

    report(live_limit, "FILLED", "0.01")

    trade = trade_row(live_limit)
    assert (trade.fees, trade.fee_pending) == (before, False)
