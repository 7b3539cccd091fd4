"""Average-cost positions: what a fill does to quantity, entry price, realized PnL and counters."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy.orm import Session
from tradebot.db.models import Position
from tradebot.portfolio.positions import Fill, apply_fill

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
        fee=D(fee),
        fee_asset=fee_asset,
        first_fill=first_fill,
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
    assert (position.volume, position.fills, position.realized_pnl) == (D(950), 1, 0)


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


def test_a_sell_realizes_proceeds_less_fee_minus_average_cost_and_counts_a_win(
    session: Session,
) -> None:
    position = apply(
        session,
        fill("BUY", "0.01", "95000", fee="0.95", fee_asset="USDT"),  # entry 95095
        fill("SELL", "0.004", "96000", fee="0.384", fee_asset="USDT"),
    )

    assert position.realized_pnl == D(384) - D("0.384") - D("0.004") * D(95095)
    assert position.realized_pnl == D("3.236")
    assert (position.wins, position.losses) == (1, 0)
    assert position.quantity == D("0.006")
    assert position.avg_entry_price == D(95095)  # a sell does not move the entry price
    assert (position.volume, position.fills) == (D(950) + D(384), 2)


def test_a_losing_sell_counts_a_loss(session: Session) -> None:
    position = apply(
        session,
        fill("BUY", "0.01", "95000"),
        fill("SELL", "0.01", "94000", fee="0.94", fee_asset="USDT"),
    )

    assert position.realized_pnl == D(940) - D("0.94") - D(950)
    assert (position.wins, position.losses) == (0, 1)


def test_selling_everything_closes_the_position(session: Session) -> None:
    position = apply(session, fill("BUY", "0.01", "95000"), fill("SELL", "0.01", "96000"))

    assert (position.quantity, position.avg_entry_price) == (0, 0)
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
