"""Recording what the exchange said onto a trade: status, fills, fees, and the position."""

from __future__ import annotations

import logging
from decimal import Decimal

from redis.exceptions import RedisError
from sqlalchemy.orm import Session

from tradebot.db.models import Trade, utcnow
from tradebot.errors import NotFound
from tradebot.exchange.base import OrderResult
from tradebot.market.prices import read_price
from tradebot.market.symbols import all_filters
from tradebot.orders.state import can_move, check_move
from tradebot.portfolio.dashboard import invalidate_dashboard
from tradebot.portfolio.positions import STORED, Fill, LateFee, apply_fill, apply_late_fee

logger = logging.getLogger(__name__)
ZERO = Decimal(0)

# A symbol's base and quote assets never change, so once the filters have named them they are
# kept for the life of the execution environment: otherwise every fill costs a Redis round trip
# and the decoding of every symbol's filters (thousands, once exchangeInfo is cached). Bounded.
_ASSETS: dict[str, tuple[str, str]] = {}
_MAX_KNOWN_SYMBOLS = 8192


def _split(symbol: str) -> tuple[str, str]:
    known = _ASSETS.get(symbol)
    if known is not None:
        return known
    filters = all_filters().get(symbol)
    if filters is not None:
        assets = filters.base_asset, filters.quote_asset
        if len(_ASSETS) < _MAX_KNOWN_SYMBOLS:
            _ASSETS[symbol] = assets
        return assets
    for quote in ("USDT", "USDC", "FDUSD", "BTC", "ETH", "BNB"):
        if symbol.endswith(quote):
            return symbol[: -len(quote)], quote
    return symbol, ""


def record_result(session: Session, trade: Trade, result: OrderResult) -> None:
    """Apply the exchange's view of the order: forward only, each fill and each fee counted once.

    Reports are cumulative for the order, so what they add is the difference from what was
    recorded: a report repeated changes nothing, and a stale one (less executed than recorded,
    or an earlier state) is ignored. A report that knows the fee of fills recorded without it
    (`fee_pending`) charges it now.
    """
    if result.executed_qty < trade.executed_qty:
        logger.warning(
            "ignored a stale report: less executed than recorded",
            extra={
                "trade_id": trade.id,
                "recorded": format(trade.executed_qty, "f"),
                "reported": format(result.executed_qty, "f"),
                "status": result.status,
            },
        )
        return
    moves = can_move(trade.status, result.status)
    if not moves and trade.status != result.status:
        logger.warning(
            "ignored a backwards status change",
            extra={"trade_id": trade.id, "from": trade.status, "to": result.status},
        )
        return
    new_qty = result.executed_qty - trade.executed_qty
    new_quote = result.cumulative_quote_qty - trade.cumulative_quote_qty
    # Only a placement answer lists fills and their commission; for a look-up or cancel answer
    # the executor reads them from the trade list. A report without them (fee_asset None: the
    # fee is unknown) keeps the fees recorded so far and marks the new fill's fee pending.
    fee_known = result.fee_asset is not None
    fees = {entry["asset"]: Decimal(entry["amount"]) for entry in trade.fees or []}
    charged = {
        asset: amount - fees.get(asset, ZERO)
        for asset, amount in (result.fees if fee_known else ())
        if amount > fees.get(asset, ZERO)
    }
    if not moves and new_qty == 0 and not charged and not (fee_known and trade.fee_pending):
        return  # a final state reported again
    if new_qty > 0 or charged:
        _charge(session, trade, result, new_qty, new_quote, charged)
    trade.status = result.status
    trade.exchange_order_id = result.exchange_order_id or trade.exchange_order_id
    trade.executed_qty = result.executed_qty
    trade.cumulative_quote_qty = result.cumulative_quote_qty
    trade.avg_price = result.avg_price
    if charged:
        # The order's cumulative fee per asset, as reported (so never summed twice).
        fees.update({asset: amount for asset, amount in result.fees if asset in charged})
        trade.fees = [{"asset": asset, "amount": format(fee, "f")} for asset, fee in fees.items()]
        trade.fee_asset, trade.fee = next(iter(fees.items()))
    trade.fee_pending = False if fee_known else trade.fee_pending or new_qty > 0
    trade.updated_at = utcnow()
    invalidate_dashboard(session, trade.user_id)
    if trade.trading_mode == "live":
        from tradebot.portfolio.live import forget_live_balances

        forget_live_balances(trade.user_id)


def _charge(
    session: Session,
    trade: Trade,
    result: OrderResult,
    new_qty: Decimal,
    new_quote: Decimal,
    charged: dict[str, Decimal],
) -> None:
    """Apply the new fill and the new commission to the position."""
    base, quote = _split(trade.symbol)
    fee_base = fee_quote = ZERO
    for asset, amount in charged.items():
        if asset == base:
            fee_base += amount
        elif asset == quote:
            fee_quote += amount
        else:
            fee_quote += _in_quote(trade, asset, amount, quote)
    if new_qty > 0:
        fill = Fill(
            symbol=trade.symbol,
            base_asset=base,
            quote_asset=quote,
            side=trade.side,
            quantity=new_qty,
            quote=new_quote,
            first_fill=trade.executed_qty == 0,
            fee_base=fee_base,
            fee_quote=fee_quote,
        )
        apply_fill(session, trade.user_id, fill)
        return
    # The fee of fills recorded earlier without it, now known.
    price = result.avg_price or ZERO
    late = LateFee(trade.symbol, trade.side, price, fee_base=fee_base, fee_quote=fee_quote)
    apply_late_fee(session, trade.user_id, late)


def _in_quote(trade: Trade, asset: str, amount: Decimal, quote: str) -> Decimal:
    """A commission in a third asset (BNB) valued in the quote asset at its cached price now.

    Without a price it is left out of the PnL (it stays on the trade's fees) and logged: the
    fill is recorded all the same.
    """
    try:
        price = read_price(f"{asset}{quote}").price
    except (NotFound, RedisError):
        logger.warning(
            "commission not converted into the quote asset: no price; left out of the PnL",
            extra={"trade_id": trade.id, "asset": asset, "amount": format(amount, "f")},
        )
        return ZERO
    return (amount * price).quantize(STORED)


def reject(session: Session, trade: Trade, status: str, reason: str) -> None:
    """End a trade as REJECTED or FAILED with the reason the trader will read."""
    check_move(trade.status, status)
    trade.status = status
    trade.reason = reason[:500]
    trade.updated_at = utcnow()
    invalidate_dashboard(session, trade.user_id)
