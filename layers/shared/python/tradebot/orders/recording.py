"""Recording what the exchange said onto a trade: status, fills, fees, and the position."""

from __future__ import annotations

import logging
from decimal import Decimal

from sqlalchemy.orm import Session

from tradebot.db.models import Trade, utcnow
from tradebot.exchange.base import OrderResult
from tradebot.market.symbols import all_filters
from tradebot.orders.state import can_move, check_move
from tradebot.portfolio.dashboard import invalidate_dashboard
from tradebot.portfolio.positions import Fill, apply_fill

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
    """Apply the exchange's view of the order; moves only forward, fills counted once."""
    if not can_move(trade.status, result.status):
        if trade.status != result.status:
            logger.warning(
                "ignored a backwards status change",
                extra={"trade_id": trade.id, "from": trade.status, "to": result.status},
            )
        return
    new_qty = result.executed_qty - trade.executed_qty
    new_quote = result.cumulative_quote_qty - trade.cumulative_quote_qty
    # Only a placement answer lists fills and their commission; for a look-up or cancel answer
    # the executor reads them from the trade list. A report without them (fee_asset None: the
    # fill's fee is unknown) must not reset the fee recorded so far.
    fee_known = result.fee_asset is not None
    fee = result.fee if fee_known else trade.fee
    new_fee = fee - trade.fee
    if new_qty > 0:
        base, quote = _split(trade.symbol)
        apply_fill(
            session,
            trade.user_id,
            Fill(
                symbol=trade.symbol,
                base_asset=base,
                quote_asset=quote,
                side=trade.side,
                quantity=new_qty,
                quote=new_quote,
                fee=new_fee,
                fee_asset=result.fee_asset,
                first_fill=trade.executed_qty == 0,
            ),
        )
    trade.status = result.status
    trade.exchange_order_id = result.exchange_order_id or trade.exchange_order_id
    trade.executed_qty = result.executed_qty
    trade.cumulative_quote_qty = result.cumulative_quote_qty
    trade.avg_price = result.avg_price
    trade.fee = fee
    trade.fee_asset = result.fee_asset or trade.fee_asset
    trade.updated_at = utcnow()
    invalidate_dashboard(session, trade.user_id)
    if trade.trading_mode == "live":
        from tradebot.portfolio.live import forget_live_balances

        forget_live_balances(trade.user_id)


def reject(session: Session, trade: Trade, status: str, reason: str) -> None:
    """End a trade as REJECTED or FAILED with the reason the trader will read."""
    check_move(trade.status, status)
    trade.status = status
    trade.reason = reason[:500]
    trade.updated_at = utcnow()
    invalidate_dashboard(session, trade.user_id)
