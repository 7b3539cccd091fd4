"""Between trade rows and exchange requests."""

from __future__ import annotations

from decimal import Decimal
from typing import Any, Protocol

from tradebot.exchange.base import OrderRequest


class OrderFields(Protocol):
    """What a request is made from: a `Trade`, or a row with its order columns."""

    @property
    def symbol(self) -> str: ...
    @property
    def side(self) -> Any: ...
    @property
    def type(self) -> Any: ...
    @property
    def client_order_id(self) -> str: ...
    @property
    def quantity(self) -> Decimal | None: ...
    @property
    def quote_quantity(self) -> Decimal | None: ...
    @property
    def price(self) -> Decimal | None: ...
    @property
    def stop_price(self) -> Decimal | None: ...


def request_of(trade: OrderFields) -> OrderRequest:
    """The exchange request a trade (or a row of its order columns) stands for."""
    return OrderRequest(
        symbol=trade.symbol,
        side=trade.side,
        type=trade.type,
        client_order_id=trade.client_order_id,
        quantity=trade.quantity,
        quote_quantity=trade.quote_quantity,
        price=trade.price,
        stop_price=trade.stop_price,
    )
