"""Average-cost positions, updated in the same transaction as every fill."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.orm import Session

from tradebot.db.models import Position

ZERO = Decimal(0)
STORED = Decimal("1e-18")  # the columns' scale; rounding here keeps SQLite and PostgreSQL equal


@dataclass(frozen=True)
class Fill:
    """The part of an order executed since it was last recorded."""

    symbol: str
    base_asset: str
    quote_asset: str
    side: str
    quantity: Decimal  # base asset executed
    quote: Decimal  # quote asset exchanged
    fee: Decimal
    fee_asset: str | None
    first_fill: bool  # the order's first execution (counts it as a filled trade)


def _position(session: Session, user_id: str, symbol: str) -> Position:
    position = session.scalar(
        select(Position)
        .where(Position.user_id == user_id, Position.symbol == symbol)
        .with_for_update()
    )
    if position is None:
        position = Position(
            user_id=user_id,
            symbol=symbol,
            quantity=ZERO,
            avg_entry_price=ZERO,
            realized_pnl=ZERO,
            volume=ZERO,
            fills=0,
            wins=0,
            losses=0,
        )
        session.add(position)
    return position


def apply_fill(session: Session, user_id: str, fill: Fill) -> Position:
    """Move the position by `fill` with the average-cost method.

    A buy raises the average entry price by what it cost (a fee taken in the quote asset adds
    to the cost; one taken in the base asset reduces what was received). A sell realizes
    `proceeds - average cost * quantity`; selling more than the position holds (coins from
    outside) realizes nothing on the excess. A fee in a third asset (BNB) is not converted.
    """
    position = _position(session, user_id, fill.symbol)
    position.volume += fill.quote
    if fill.first_fill:
        position.fills += 1
    if fill.quantity == 0:
        return position
    if fill.side == "BUY":
        received = fill.quantity - (fill.fee if fill.fee_asset == fill.base_asset else ZERO)
        cost = fill.quote + (fill.fee if fill.fee_asset == fill.quote_asset else ZERO)
        held = position.quantity
        total = held + received
        if total > 0:
            average = (held * position.avg_entry_price + cost) / total
            position.avg_entry_price = average.quantize(STORED)
        position.quantity = total
        return position
    proceeds = fill.quote - (fill.fee if fill.fee_asset == fill.quote_asset else ZERO)
    covered = min(fill.quantity, position.quantity)
    excess = fill.quantity - covered
    # The excess came from outside the bot: treat it as bought at the fill price.
    basis = covered * position.avg_entry_price + excess * (fill.quote / fill.quantity)
    pnl = proceeds - basis
    position.realized_pnl += pnl
    if pnl > 0:
        position.wins += 1
    elif pnl < 0:
        position.losses += 1
    position.quantity -= covered
    if position.quantity == 0:
        position.avg_entry_price = ZERO
    return position
