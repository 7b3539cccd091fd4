"""The exchange interface every implementation (Binance, paper) provides, and its typed models."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Literal, Protocol

Side = Literal["BUY", "SELL"]
OrderType = Literal["MARKET", "LIMIT", "STOP_LOSS_LIMIT"]
ExchangeOrderStatus = Literal[
    "NEW", "PARTIALLY_FILLED", "FILLED", "CANCELED", "REJECTED", "EXPIRED"
]


@dataclass(frozen=True)
class SymbolFilters:
    """A symbol's trading rules from exchangeInfo (PRICE_FILTER, LOT_SIZE, (MIN_)NOTIONAL)."""

    symbol: str
    base_asset: str
    quote_asset: str
    tick_size: Decimal
    step_size: Decimal
    min_qty: Decimal
    max_qty: Decimal
    min_price: Decimal
    max_price: Decimal
    min_notional: Decimal


@dataclass(frozen=True)
class OrderRequest:
    """An order as we send it; `client_order_id` is Binance's newClientOrderId."""

    symbol: str
    side: Side
    type: OrderType
    client_order_id: str
    quantity: Decimal | None = None
    quote_quantity: Decimal | None = None
    price: Decimal | None = None
    stop_price: Decimal | None = None


@dataclass(frozen=True)
class OrderResult:
    """What the exchange says about one order."""

    symbol: str
    client_order_id: str
    exchange_order_id: str
    status: ExchangeOrderStatus
    executed_qty: Decimal
    cumulative_quote_qty: Decimal
    fee: Decimal = Decimal(0)
    # None: the answer listed no fills, so the fee is not known (a look-up or cancel answer).
    fee_asset: str | None = None

    @property
    def avg_price(self) -> Decimal | None:
        """Average fill price, or None before any fill."""
        if self.executed_qty == 0:
            return None
        return (self.cumulative_quote_qty / self.executed_qty).quantize(Decimal("1e-8"))


@dataclass(frozen=True)
class Balance:
    """One asset's free and locked amount."""

    asset: str
    free: Decimal
    locked: Decimal


class Exchange(Protocol):
    """What the order executor and the API need from an exchange."""

    def place_order(self, order: OrderRequest) -> OrderResult:
        """Place an order; raises a `tradebot.errors.ExchangeError` subclass on failure."""
        ...

    def get_order(self, symbol: str, client_order_id: str) -> OrderResult | None:
        """Look an order up by our client id; None when the exchange does not know it."""
        ...

    def open_orders(self, symbol: str | None = None) -> list[OrderResult]:
        """The account's open orders: of `symbol`, or of every symbol when None."""
        ...

    def with_commission(self, result: OrderResult) -> OrderResult:
        """`result` with the fee of its fills, for a look-up or cancel answer that has none."""
        ...

    def cancel_order(self, symbol: str, client_order_id: str) -> OrderResult:
        """Cancel an open order by our client id."""
        ...

    def balances(self) -> list[Balance]:
        """Non-zero balances of the account."""
        ...
