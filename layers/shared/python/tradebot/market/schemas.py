"""API models of market data."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field

from tradebot.orders.schemas import DecimalOut

_OFF = "0: not applied"


class SymbolPublic(BaseModel):
    """A tradable symbol and the exchange filters an order on it must pass.

    Limits, multipliers and counts of `0` mean the exchange does not apply that rule (as in
    Binance's exchangeInfo), so a client checks only the non-zero ones.
    """

    symbol: str
    base_asset: str
    quote_asset: str
    tick_size: DecimalOut = Field(description="PRICE_FILTER: prices are min_price + k * tick_size")
    step_size: DecimalOut = Field(description="LOT_SIZE: quantities are min_qty + k * step_size")
    min_qty: DecimalOut = Field(description="LOT_SIZE: the smallest quantity")
    min_notional: DecimalOut = Field(
        description="NOTIONAL: the smallest quantity * price (quote asset); for MARKET orders "
        "only when apply_min_to_market"
    )
    max_qty: DecimalOut = Field(description=f"LOT_SIZE: the largest quantity; {_OFF}")
    min_price: DecimalOut = Field(description=f"PRICE_FILTER: the lowest price; {_OFF}")
    max_price: DecimalOut = Field(description=f"PRICE_FILTER: the highest price; {_OFF}")
    max_notional: DecimalOut = Field(
        description="NOTIONAL: the largest quantity * price (quote asset); for MARKET orders "
        f"only when apply_max_to_market; {_OFF}"
    )
    apply_min_to_market: bool = Field(description="Whether min_notional binds MARKET orders")
    apply_max_to_market: bool = Field(description="Whether max_notional binds MARKET orders")
    market_min_qty: DecimalOut = Field(
        description="MARKET_LOT_SIZE: a MARKET order's smallest quantity, on top of LOT_SIZE; "
        f"{_OFF}"
    )
    market_max_qty: DecimalOut = Field(
        description=f"MARKET_LOT_SIZE: a MARKET order's largest quantity; {_OFF}"
    )
    market_step_size: DecimalOut = Field(
        description="MARKET_LOT_SIZE: a MARKET order's quantity is market_min_qty + k * "
        f"market_step_size; {_OFF}"
    )
    bid_multiplier_up: DecimalOut = Field(
        description="PERCENT_PRICE_BY_SIDE: a BUY's limit price is at most this times the "
        f"market price; {_OFF}"
    )
    bid_multiplier_down: DecimalOut = Field(
        description="PERCENT_PRICE_BY_SIDE: a BUY's limit price is at least this times the "
        f"market price; {_OFF}"
    )
    ask_multiplier_up: DecimalOut = Field(
        description="PERCENT_PRICE_BY_SIDE: a SELL's limit price is at most this times the "
        f"market price; {_OFF}"
    )
    ask_multiplier_down: DecimalOut = Field(
        description="PERCENT_PRICE_BY_SIDE: a SELL's limit price is at least this times the "
        f"market price; {_OFF}"
    )
    max_num_orders: int = Field(
        ge=0, description=f"MAX_NUM_ORDERS: open orders allowed on the symbol; {_OFF}"
    )
    quote_precision: int = Field(
        ge=0, description="quoteAssetPrecision: the decimals a quote_quantity may carry"
    )


class SymbolList(BaseModel):
    items: list[SymbolPublic]


class PricePublic(BaseModel):
    symbol: str
    price: DecimalOut
    updated_at: datetime
    stale: bool


class PriceList(BaseModel):
    items: list[PricePublic]


class PricePointPublic(BaseModel):
    """One chart point: the price the scheduled update read at `t`."""

    t: datetime
    price: DecimalOut


class PriceHistory(BaseModel):
    items: list[PricePointPublic]
