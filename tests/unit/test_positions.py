"""Average-cost positions: what a fill does to quantity, entry price, realized PnL and counters."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy.orm import Session
from tradebot.db.models import Position
from tradebot.portfolio.positions import Fill, LateFee, apply_fill, apply_late_fee

from tests.trading_support import D, memory_session

STORED = D("1e-18")


@pytest.fixture
def session() -> Iterator[Session]:
    with memory_session() as session:
        yield session


def fill(
    side: str,
    quantity: str,
    price: str,
    fee: str = "0",
    fee_asset: str | None = None,
    first_fill: bool = True,
) -> Fill:
    qty = D(quantity)
    return Fill(
        symbol="BTCUSDT",
        base_asset="BTC",
        quote_asset="USDT",
        side=side,
        quantity=qty,
        quote=qty * D(price),
        first_fill=first_fill,
        fee_base=D(fee) if fee_asset == "BTC" else D(0),
        fee_quote=D(fee) if fee_asset == "USDT" else D(0),
    )


def apply(session: Session, *fills: Fill) -> Position:
    position = None
    for each in fills:
        position = apply_fill(session, "u-1", each)
        session.flush()
    assert position is not None
    return position


def test_a_buy_opens_a_position_at_its_cost_per_coin_received(session: Session) -> None:
    position = apply(session, fill("BUY", "0.01", "95000", fee="0.00001", fee_asset="BTC"))

    assert position.quantity == D("0.00999")
    assert position.avg_entry_price == (D(950) / D("0.00999")).quantize(STORED)
    assert (position.volume, position.fills, position.realized_pnl) == (D(950), 1, D(0))


def test_a_second_buy_averages_the_entry_price_by_cost(session: Session) -> None:
    position = apply(
        session,
        fill("BUY", "0.01", "95000", fee="0.00001", fee_asset="BTC"),
        fill("BUY", "0.02", "90000", fee="0.00002", fee_asset="BTC"),
    )

    first_avg = (D(950) / D("0.00999")).quantize(STORED)
    expected = ((D("0.00999") * first_avg + D(1800)) / (D("0.00999") + D("0.01998"))).quantize(
        STORED
    )
    assert position.quantity == D("0.02997")
    assert position.avg_entry_price == expected
    assert (position.volume, position.fills) == (D(2750), 2)


def test_a_fee_paid_in_the_quote_asset_adds_to_the_cost(session: Session) -> None:
    position = apply(session, fill("BUY", "0.01", "95000", fee="0.95", fee_asset="USDT"))

    assert position.quantity == D("0.01")
    assert position.avg_entry_price == D("95095")


def test_a_partial_sell_realizes_proceeds_less_fee_minus_average_cost_but_counts_no_win_yet(
    session: Session,
) -> None:
    position = apply(
        session,
        fill("BUY", "0.01", "95000", fee="0.95", fee_asset="USDT"),  # entry 95095
        fill("SELL", "0.004", "96000", fee="0.384", fee_asset="USDT"),
    )

    assert position.realized_pnl == D(384) - D("0.384") - D("0.004") * D(95095)
    assert position.realized_pnl == D("3.236")
    assert position.trip_pnl == D("3.236")
    assert (position.wins, position.losses) == (0, 0)  # the round trip is still open
    assert position.quantity == D("0.006")
    assert position.avg_entry_price == D(95095)  # a sell does not move the entry price
    assert (position.volume, position.fills) == (D(950) + D(384), 2)


def test_a_losing_round_trip_counts_a_loss_when_it_closes(session: Session) -> None:
    position = apply(
        session,
        fill("BUY", "0.01", "95000"),
        fill("SELL", "0.01", "94000", fee="0.94", fee_asset="USDT"),
    )

    assert position.realized_pnl == D(940) - D("0.94") - D(950)
    assert (position.wins, position.losses, position.trip_pnl) == (0, 1, D(0))


def test_selling_everything_closes_the_position(session: Session) -> None:
    position = apply(session, fill("BUY", "0.01", "95000"), fill("SELL", "0.01", "96000"))

    assert (position.quantity, position.avg_entry_price) == (D(0), D(0))
    assert position.realized_pnl == D(10)


def test_selling_coins_bought_outside_the_bot_realizes_nothing_on_them(session: Session) -> None:
    position = apply(session, fill("BUY", "0.01", "95000"), fill("SELL", "0.03", "96000"))

    # 0.01 held at 95000 realizes 10; the 0.02 from outside is priced at the fill itself.
    assert position.realized_pnl == D(10)
    assert position.quantity == 0


def test_later_fills_of_the_same_order_count_one_trade(session: Session) -> None:
    position = apply(
        session,
        fill("BUY", "0.004", "95000", first_fill=True),
        fill("BUY", "0.006", "95000", first_fill=False),
    )

    assert position.fills == 1
    assert position.quantity == D("0.01")
    assert position.avg_entry_price == D(95000)


def test_positions_are_kept_per_symbol_and_user(session: Session) -> None:
    apply_fill(session, "u-1", fill("BUY", "0.01", "95000"))
    apply_fill(session, "u-2", fill("BUY", "0.02", "95000"))
    session.flush()

    assert session.get(Position, {"user_id": "u-1", "symbol": "BTCUSDT"}).quantity == D("0.01")  # type: ignore[union-attr]
    assert session.get(Position, {"user_id": "u-2", "symbol": "BTCUSDT"}).quantity == D("0.02")  # type: ignore[union-attr]


# --- round trips -----------------------------------------------------------------------------


def test_a_round_trip_sold_in_parts_counts_one_win_when_it_closes(session: Session) -> None:
    position = apply(
        session,
        fill("BUY", "0.01", "95000"),
        fill("SELL", "0.004", "94000"),  # -4
        fill("SELL", "0.006", "97000"),  # +12
    )

    assert position.realized_pnl == D(8)
    assert (position.wins, position.losses) == (1, 0)  # one trip, net +8; not one loss, one win
    assert (position.quantity, position.trip_pnl, position.avg_entry_price) == (D(0), D(0), D(0))


def test_partial_sells_of_an_open_round_trip_count_neither_win_nor_loss(session: Session) -> None:
    position = apply(
        session,
        fill("BUY", "0.01", "95000"),
        fill("SELL", "0.002", "96000"),
        fill("SELL", "0.002", "94000", first_fill=True),
    )

    assert (position.wins, position.losses) == (0, 0)
    assert position.trip_pnl == position.realized_pnl == D(2) - D(2)


def test_each_round_trip_is_counted_on_its_own(session: Session) -> None:
    position = apply(
        session,
        fill("BUY", "0.01", "95000"),
        fill("SELL", "0.01", "96000"),  # trip 1: +10
        fill("BUY", "0.01", "95000"),
        fill("BUY", "0.01", "97000"),  # averaging in: still trip 2, entry 96000
        fill("SELL", "0.02", "95000"),  # trip 2: -20
    )

    assert (position.wins, position.losses) == (1, 1)
    assert position.realized_pnl == D(-10)


def test_a_break_even_round_trip_is_neither_a_win_nor_a_loss(session: Session) -> None:
    position = apply(session, fill("BUY", "0.01", "95000"), fill("SELL", "0.01", "95000"))

    assert (position.wins, position.losses, position.quantity) == (0, 0, D(0))


def test_selling_only_coins_from_outside_opens_and_closes_no_round_trip(session: Session) -> None:
    position = apply(session, fill("SELL", "0.01", "95000", fee="0.95", fee_asset="USDT"))

    assert position.realized_pnl == D("-0.95")
    assert (position.wins, position.losses, position.trip_pnl) == (0, 0, D(0))


def test_a_sell_charged_in_the_base_asset_sells_the_fee_coins_for_nothing(
    session: Session,
) -> None:
    # As on BNBUSDT with the BNB discount: selling 1 coin costs 1.00075 of the position.
    position = apply(
        session,
        fill("BUY", "2", "600"),
        fill("SELL", "1", "610", fee="0.00075", fee_asset="BTC"),
    )

    assert position.quantity == D("0.99925")
    assert position.realized_pnl == D(610) - D("1.00075") * D(600)
    assert position.avg_entry_price == D(600)


# --- a fee learned after its fill -------------------------------------------------------------


def late(side: str, price: str, base: str = "0", quote: str = "0") -> LateFee:
    return LateFee("BTCUSDT", side, D(price), fee_base=D(base), fee_quote=D(quote))


def test_a_late_base_fee_of_a_buy_takes_coins_out_at_the_same_total_cost(
    session: Session,
) -> None:
    apply(session, fill("BUY", "0.01", "95000"))

    position = apply_late_fee(session, "u-1", late("BUY", "95000", base="0.00001"))

    # Exactly as if the buy had been recorded with its fee.
    with memory_session() as other:
        expected = apply(other, fill("BUY", "0.01", "95000", fee="0.00001", fee_asset="BTC"))
        assert (position.quantity, position.avg_entry_price) == (
            expected.quantity,
            expected.avg_entry_price,
        )
    assert position.realized_pnl == 0


def test_a_late_quote_fee_of_a_buy_raises_the_entry_price(session: Session) -> None:
    apply(session, fill("BUY", "0.01", "95000"))

    position = apply_late_fee(session, "u-1", late("BUY", "95000", quote="0.95"))

    assert (position.quantity, position.avg_entry_price) == (D("0.01"), D(95095))


def test_a_late_fee_of_a_buy_already_sold_is_realized_as_a_loss(session: Session) -> None:
    apply(session, fill("BUY", "0.01", "95000"), fill("SELL", "0.01", "96000"))

    position = apply_late_fee(session, "u-1", late("BUY", "95000", base="0.00001"))

    assert position.realized_pnl == D(10) - D("0.95")
    assert (position.quantity, position.wins) == (D(0), 1)  # the closed trip is not recounted


def test_a_late_fee_that_takes_the_last_coins_closes_the_round_trip(session: Session) -> None:
    apply(session, fill("BUY", "0.01", "95000"), fill("SELL", "0.00999", "96000"))

    position = apply_late_fee(session, "u-1", late("BUY", "95000", base="0.00001"))

    assert position.quantity == 0
    assert position.realized_pnl == D("0.00999") * D(1000) - D("0.00001") * D(95000)
    assert (position.wins, position.losses, position.trip_pnl) == (1, 0, D(0))


def test_a_late_fee_of_a_sell_lowers_the_open_round_trips_pnl(session: Session) -> None:
    apply(session, fill("BUY", "0.01", "95000"), fill("SELL", "0.004", "96000"))

    position = apply_late_fee(session, "u-1", late("SELL", "96000", quote="0.384"))

    assert position.realized_pnl == position.trip_pnl == D(4) - D("0.384")
    assert position.quantity == D("0.006")
