"""The exchange interface every implementation (Binance, paper) provides, and its typed models."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Literal, Protocol

Side = Literal["BUY", "SELL"]
OrderType = Literal["MARKET", "LIMIT", "STOP_LOSS_LIMIT"]
ExchangeOrderStatus = Literal[
    "NEW", "PARTIALLY_FILLED", "FILLED", "CANCELED", "REJECTED", "EXPIRED"
]


ALGO_ORDER_TYPES: frozenset[str] = frozenset({"STOP_LOSS_LIMIT"})
"""Our order types Binance counts against MAX_NUM_ALGO_ORDERS (its stop and take-profit kinds)."""

ZERO = Decimal(0)


@dataclass(frozen=True)
class SymbolFilters:
    """A symbol's trading rules from exchangeInfo.

    A zero limit (or multiplier, or count) means Binance does not apply that rule, as in
    exchangeInfo itself; the fields after `min_notional` default to "not applied" so filters
    cached before they existed still load.
    """

    symbol: str
    base_asset: str
    quote_asset: str
    # PRICE_FILTER and LOT_SIZE
    tick_size: Decimal
    step_size: Decimal
    min_qty: Decimal
    max_qty: Decimal
    min_price: Decimal
    max_price: Decimal
    # NOTIONAL (or the older MIN_NOTIONAL)
    min_notional: Decimal
    max_notional: Decimal = ZERO
    apply_min_to_market: bool = True
    apply_max_to_market: bool = False
    notional_avg_price_mins: int = 0
    # MARKET_LOT_SIZE: MARKET orders' quantity, on top of LOT_SIZE
    market_min_qty: Decimal = ZERO
    market_max_qty: Decimal = ZERO
    market_step_size: Decimal = ZERO
    # PERCENT_PRICE_BY_SIDE (or PERCENT_PRICE, the same range for both sides)
    bid_multiplier_up: Decimal = ZERO
    bid_multiplier_down: Decimal = ZERO
    ask_multiplier_up: Decimal = ZERO
    ask_multiplier_down: Decimal = ZERO
    percent_avg_price_mins: int = 0
    # MAX_NUM_ORDERS, MAX_NUM_ALGO_ORDERS: open orders allowed on the symbol
    max_num_orders: int = 0
    max_num_algo_orders: int = 0
    # quoteAssetPrecision: decimals a quote amount (quoteOrderQty) may carry
    quote_precision: int = 8
    # isSpotTradingAllowed / permissionSets with SPOT
    spot_trading: bool = True

    @property
    def percent_price_applies(self) -> bool:
        """Whether PERCENT_PRICE_BY_SIDE bounds a limit price (it needs the market price)."""
        multipliers = (
            self.bid_multiplier_up,
            self.bid_multiplier_down,
            self.ask_multiplier_up,
            self.ask_multiplier_down,
        )
        return any(multipliers)


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


# Every commission asset of an order's fills with the amount charged in it, in the order the
# exchange first listed each asset.
Fees = tuple[tuple[str, Decimal], ...]


@dataclass(frozen=True)
class OrderResult:
    """What the exchange says about one order, cumulative since it was placed.

    `fees` lists every commission asset; `fee`/`fee_asset` are its first entry. Either may be
    given: the other is derived from it.
    """

    symbol: str
    client_order_id: str
    exchange_order_id: str
    status: ExchangeOrderStatus
    executed_qty: Decimal
    cumulative_quote_qty: Decimal
    fee: Decimal = Decimal(0)
    # None: the answer listed no fills, so the fee is not known (a look-up or cancel answer).
    fee_asset: str | None = None
    fees: Fees = ()

    def __post_init__(self) -> None:
        if self.fees:
            object.__setattr__(self, "fee", self.fees[0][1])
            object.__setattr__(self, "fee_asset", self.fees[0][0])
        elif self.fee_asset is not None:
            object.__setattr__(self, "fees", ((self.fee_asset, self.fee),))

    @property
    def avg_price(self) -> Decimal | None:
        """Average fill price, or None before any fill."""
        if self.executed_qty == 0:
            return None
        return (self.cumulative_quote_qty / self.executed_qty).quantize(Decimal("1e-8"))


@dataclass(frozen=True)
class PriceRange:
    """The lowest and highest price a symbol traded at from `opened_at` until `closed_at`
    (one candle), or until now when `closed_at` is None."""

    opened_at: datetime
    closed_at: datetime | None
    low: Decimal
    high: Decimal


@dataclass(frozen=True)
class Balance:
    """One asset's free and locked amount."""

    asset: str
    free: Decimal
    locked: Decimal


@dataclass(frozen=True)
class SpotAccount:
    """What the spot account read (GET /api/v3/account) says about a key's account."""

    can_trade: bool
    # Binance's account permissions, e.g. ("SPOT",).
    permissions: tuple[str, ...]


@dataclass(frozen=True)
class KeyPermissions:
    """What an API key may do (GET /sapi/v1/account/apiRestrictions), as Binance reports it."""

    ip_restricted: bool
    reading: bool
    spot_trading: bool
    withdrawals: bool
    internal_transfer: bool
    universal_transfer: bool
    margin: bool
    futures: bool
    options: bool
    portfolio_margin: bool


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
