"""Summing an order's commission from its fills, the same way for a placement answer and for the
account trade list."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from tradebot.exchange.base import OrderResult
from tradebot.exchange.commission import commission_of, trades_up_to

D = Decimal


def trade(trade_id: int, qty: str, commission: str, asset: str = "BTC", order: int = 7) -> Any:
    return {
        "id": trade_id,
        "orderId": order,
        "qty": qty,
        "commission": commission,
        "commissionAsset": asset,
    }


def test_commission_is_the_exact_decimal_sum_of_the_fills() -> None:
    fills = [trade(1, "0.1", "0.00000001"), trade(2, "0.2", "0.00000002")]

    assert commission_of(fills) == (("BTC", D("0.00000003")),)
    assert isinstance(commission_of(fills)[0][1], Decimal)


def test_no_fills_means_the_fee_is_unknown() -> None:
    assert commission_of([]) == ()


def test_fills_charged_in_several_assets_keep_every_asset_in_the_order_first_listed() -> None:
    fills = [
        trade(1, "1", "0.001", "BNB"),
        trade(2, "1", "0.5", "USDT"),
        trade(3, "1", "0.002", "BNB"),
    ]

    assert commission_of(fills) == (("BNB", D("0.003")), ("USDT", D("0.5")))


def test_a_result_names_its_first_fee_as_fee_and_fee_asset() -> None:
    result = OrderResult(
        "BNBBTC", "c", "1", "FILLED", D(3), D("0.03"), fees=(("BNB", D("0.003")), ("BTC", D(1)))
    )
    legacy = OrderResult("BTCUSDT", "c", "1", "FILLED", D(1), D(1), fee=D(2), fee_asset="USDT")

    assert (result.fee, result.fee_asset) == (D("0.003"), "BNB")
    assert legacy.fees == (("USDT", D(2)),)
    assert OrderResult("BTCUSDT", "c", "1", "NEW", D(0), D(0)).fees == ()


def test_the_trades_taken_are_the_orders_earliest_up_to_the_executed_quantity() -> None:
    trades = [
        trade(5, "0.3", "3"),
        trade(2, "0.2", "2"),
        trade(4, "9", "9", order=8),  # another order's
        trade(9, "0.5", "5"),  # filled after the look-up that is being completed
    ]

    taken = trades_up_to(trades, "7", D("0.5"))

    assert taken is not None
    assert [t["id"] for t in taken] == [2, 5]


def test_trades_short_of_the_executed_quantity_are_not_enough() -> None:
    assert trades_up_to([trade(1, "0.2", "2")], "7", D("0.5")) is None
    assert trades_up_to([], "7", D("0.5")) is None
