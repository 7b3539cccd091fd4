"""Market routes' reads: Redis (and the shipped snapshot) only, never the exchange."""

from __future__ import annotations

from redis.exceptions import RedisError

from tradebot.errors import NotFound, ServiceUnavailable
from tradebot.market.history import HistoryWindow, read_history
from tradebot.market.prices import CachedPrice, read_price, read_prices
from tradebot.market.schemas import (
    PriceHistory,
    PriceList,
    PricePointPublic,
    PricePublic,
    SymbolList,
    SymbolPublic,
)
from tradebot.market.symbols import all_filters


def list_symbols() -> SymbolList:
    """Every tradable symbol with its filters."""
    return SymbolList(
        items=[
            SymbolPublic(
                symbol=f.symbol,
                base_asset=f.base_asset,
                quote_asset=f.quote_asset,
                tick_size=f.tick_size,
                step_size=f.step_size,
                min_qty=f.min_qty,
                min_notional=f.min_notional,
                max_qty=f.max_qty,
                min_price=f.min_price,
                max_price=f.max_price,
                max_notional=f.max_notional,
                apply_min_to_market=f.apply_min_to_market,
                apply_max_to_market=f.apply_max_to_market,
                market_min_qty=f.market_min_qty,
                market_max_qty=f.market_max_qty,
                market_step_size=f.market_step_size,
                bid_multiplier_up=f.bid_multiplier_up,
                bid_multiplier_down=f.bid_multiplier_down,
                ask_multiplier_up=f.ask_multiplier_up,
                ask_multiplier_down=f.ask_multiplier_down,
                max_num_orders=f.max_num_orders,
                quote_precision=f.quote_precision,
            )
            for f in sorted(all_filters().values(), key=lambda f: f.symbol)
        ]
    )


def _public(price: CachedPrice) -> PricePublic:
    return PricePublic(
        symbol=price.symbol, price=price.price, updated_at=price.updated_at, stale=price.stale
    )


def list_prices() -> PriceList:
    """Every cached price; 503 when the cache is down (there is no other source)."""
    try:
        return PriceList(items=[_public(p) for p in read_prices()])
    except RedisError as exc:
        raise ServiceUnavailable("Prices are unavailable right now") from exc


def get_price(symbol: str) -> PricePublic:
    """One symbol's cached price; 404 for a symbol we do not list or have no price for."""
    wanted = symbol.upper()
    if wanted not in all_filters():
        raise NotFound(f"Unknown symbol {symbol}")
    try:
        return _public(read_price(wanted))
    except RedisError as exc:
        raise ServiceUnavailable("Prices are unavailable right now") from exc
    except NotFound:
        raise


def get_price_history(symbol: str, window: HistoryWindow) -> PriceHistory:
    """A symbol's chart points in `window`, oldest first; 404 for a symbol we do not list."""
    wanted = symbol.upper()
    if wanted not in all_filters():
        raise NotFound(f"Unknown symbol {symbol}")
    try:
        points = read_history(wanted, window)
    except RedisError as exc:
        raise ServiceUnavailable("Prices are unavailable right now") from exc
    return PriceHistory(items=[PricePointPublic(t=p.t, price=p.price) for p in points])
