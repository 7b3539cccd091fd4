"""API models of market data."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel

from tradebot.orders.schemas import DecimalOut


class SymbolPublic(BaseModel):
    symbol: str
    base_asset: str
    quote_asset: str
    tick_size: DecimalOut
    step_size: DecimalOut
    min_qty: DecimalOut
    min_notional: DecimalOut


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
