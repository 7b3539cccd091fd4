"""Between trade rows and exchange requests."""

from __future__ import annotations

from tradebot.db.models import Trade
from tradebot.exchange.base import OrderRequest


def request_of(trade: Trade) -> OrderRequest:
    """The exchange request a trade stands for."""
    return OrderRequest(
        symbol=trade.symbol,
        side=trade.side,  # type: ignore[arg-type]
        type=trade.type,  # type: ignore[arg-type]
        client_order_id=trade.client_order_id,
        quantity=trade.quantity,
        quote_quantity=trade.quote_quantity,
        price=trade.price,
        stop_price=trade.stop_price,
    )
