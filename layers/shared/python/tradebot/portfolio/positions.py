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
    """The part of an order executed since it was last recorded, with the commission it cost."""

    symbol: str
    base_asset: str
    quote_asset: str
    side: str
    quantity: Decimal  # base asset executed
    quote: Decimal  # quote asset exchanged
    first_fill: bool  # the order's first execution (counts it as a filled trade)
    fee_base: Decimal = ZERO  # commission taken in the base asset
    fee_quote: Decimal = ZERO  # in the quote asset, or another asset's converted into it


@dataclass(frozen=True)
class LateFee:
    """Commission of fills recorded earlier, learned only now (their fee could not be read)."""

    symbol: str
    side: str
    price: Decimal  # the order's average fill price: values base coins the position lacks
    fee_base: Decimal = ZERO
    fee_quote: Decimal = ZERO


def _position(session: Session, user_id: str, symbol: str) -> Position:
    position = session.scalar(
        select(Position)
        .where(Position.user_id == user_id, Position.symbol == symbol)
        .with_for_update()
        .execution_options(populate_existing=True)
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
            trip_pnl=ZERO,
        )
        session.add(position)
    return position


def apply_fill(session: Session, user_id: str, fill: Fill) -> Position:
    """Move the position by `fill` with the average-cost method.

    A buy raises the average entry price by what it cost (a fee taken in the quote asset adds
    to the cost; one taken in the base asset reduces what was received). A sell realizes
    `proceeds - average cost * quantity`, a fee in the base asset selling those coins for
    nothing; selling more than the position holds (coins from outside) realizes nothing on the
    excess. The PnL of a round trip (from flat back to flat) counts one win or loss when it
    closes.
    """
    position = _position(session, user_id, fill.symbol)
    position.volume += fill.quote
    if fill.first_fill:
        position.fills += 1
    if fill.quantity == 0:
        return position
    if fill.side == "BUY":
        _add(position, fill.quantity - fill.fee_base, fill.quote + fill.fee_quote)
        return position
    price = fill.quote / fill.quantity
    _dispose(position, fill.quantity + fill.fee_base, fill.quote - fill.fee_quote, price)
    return position


def apply_late_fee(session: Session, user_id: str, fee: LateFee) -> Position:
    """Charge the commission of fills already applied, as `apply_fill` would have with it.

    A buy's fee is part of what the coins cost: one in the quote asset raises the entry price of
    what is still held, one in the base asset takes coins out of the position at no change of
    its total cost. What the position no longer holds (sold since) is realized as a loss, base
    coins at the order's price. A sell's fee lowers the proceeds realized.
    """
    position = _position(session, user_id, fee.symbol)
    if fee.side == "BUY":
        held = position.quantity
        if fee.fee_base < held:
            basis = held * position.avg_entry_price + fee.fee_quote
            position.quantity = held - fee.fee_base
            position.avg_entry_price = (basis / position.quantity).quantize(STORED)
        else:
            # Sold since, or the fee takes all that is left: what those coins cost is spent.
            spent = held * position.avg_entry_price + (fee.fee_base - held) * fee.price
            _realize(position, -(spent + fee.fee_quote))
            position.quantity = ZERO
            _close_if_flat(position, held > 0)
        return position
    _dispose(position, fee.fee_base, -fee.fee_quote, fee.price)
    return position


def _add(position: Position, received: Decimal, cost: Decimal) -> None:
    """Coins bought: the average entry price moves by their cost; a round trip may open."""
    held = position.quantity
    if held == 0:
        position.trip_pnl = ZERO  # a round trip opens
    total = held + received
    if total > 0:
        average = (held * position.avg_entry_price + cost) / total
        position.avg_entry_price = average.quantize(STORED)
    position.quantity = total


def _dispose(position: Position, quantity: Decimal, proceeds: Decimal, price: Decimal) -> None:
    """`quantity` coins leave the position for `proceeds`; the excess is priced at `price`."""
    held = position.quantity
    covered = min(quantity, held)
    excess = quantity - covered
    # The excess came from outside the bot: treat it as bought at the fill price.
    basis = covered * position.avg_entry_price + excess * price
    _realize(position, proceeds - basis)
    position.quantity = held - covered
    _close_if_flat(position, held > 0)


def _realize(position: Position, pnl: Decimal) -> None:
    """Book realized PnL, and to the open round trip if there is one."""
    pnl = pnl.quantize(STORED)
    position.realized_pnl += pnl
    if position.quantity > 0:
        position.trip_pnl += pnl


def _close_if_flat(position: Position, was_open: bool) -> None:
    """A round trip that returned to flat counts one win or loss (break-even: neither)."""
    if not was_open or position.quantity != 0:
        return
    if position.trip_pnl > 0:
        position.wins += 1
    elif position.trip_pnl < 0:
        position.losses += 1
    position.trip_pnl = ZERO
    position.avg_entry_price = ZERO
