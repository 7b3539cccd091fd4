"""Latest prices in Redis: one hash of prices, one of their timestamps, one pipeline per update."""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal

from tradebot.cache.client import get_redis, key
from tradebot.errors import NotFound

STALE_AFTER_S = 180  # three missed one-minute updates
PRICES = ("prices", "latest")
PRICE_TIMES = ("prices", "at")
UPDATED_AT = ("prices", "updated_at")


@dataclass(frozen=True)
class CachedPrice:
    """A symbol's latest price and when it was read from the market."""

    symbol: str
    price: Decimal
    updated_at: datetime
    stale: bool


def write_prices(prices: dict[str, Decimal], at: float | None = None) -> None:
    """Store every price with its timestamp in one pipelined round trip."""
    now = at if at is not None else time.time()
    pipe = get_redis().pipeline(transaction=True)
    if prices:
        pipe.hset(key(*PRICES), mapping={s: format(p, "f") for s, p in prices.items()})
        pipe.hset(key(*PRICE_TIMES), mapping=dict.fromkeys(prices, repr(now)))
    pipe.set(key(*UPDATED_AT), repr(now))
    pipe.execute()


def _cached(symbol: str, price: str, at: str | None, now: float) -> CachedPrice:
    stamp = float(at) if at is not None else 0.0
    return CachedPrice(
        symbol=symbol,
        price=Decimal(price),
        updated_at=datetime.fromtimestamp(stamp, UTC),
        stale=now - stamp > STALE_AFTER_S,
    )


def read_prices(now: float | None = None) -> list[CachedPrice]:
    """Every cached price, sorted by symbol."""
    pipe = get_redis().pipeline(transaction=False)
    pipe.hgetall(key(*PRICES))
    pipe.hgetall(key(*PRICE_TIMES))
    prices, times = pipe.execute()
    moment = now if now is not None else time.time()
    return [_cached(s, prices[s], times.get(s), moment) for s in sorted(prices)]


def read_prices_of(symbols: Sequence[str], now: float | None = None) -> dict[str, CachedPrice]:
    """The cached prices of `symbols` that have one, in one round trip (a dashboard's)."""
    if not symbols:
        return {}
    pipe = get_redis().pipeline(transaction=False)
    pipe.hmget(key(*PRICES), list(symbols))
    pipe.hmget(key(*PRICE_TIMES), list(symbols))
    prices, times = pipe.execute()
    moment = now if now is not None else time.time()
    return {
        symbol: _cached(symbol, price, at, moment)
        for symbol, price, at in zip(symbols, prices, times, strict=True)
        if price is not None
    }


def read_price(symbol: str, now: float | None = None) -> CachedPrice:
    """One symbol's cached price; `NotFound` when the symbol has none."""
    pipe = get_redis().pipeline(transaction=False)
    pipe.hget(key(*PRICES), symbol)
    pipe.hget(key(*PRICE_TIMES), symbol)
    price, at = pipe.execute()
    if price is None:
        raise NotFound(f"No price for symbol {symbol}")
    return _cached(symbol, price, at, now if now is not None else time.time())


def last_update(now: float | None = None) -> tuple[float | None, bool]:
    """When prices were last written, and whether that is too long ago."""
    raw = get_redis().get(key(*UPDATED_AT))
    if raw is None:
        return None, True
    at = float(raw)
    return at, (now if now is not None else time.time()) - at > STALE_AFTER_S
