"""Symbol filters for validation and the symbols route: Redis first, the shipped snapshot else."""

from __future__ import annotations

import json
from dataclasses import fields
from decimal import Decimal
from typing import Any

from redis.exceptions import RedisError

from tradebot.cache.client import get_redis, key
from tradebot.errors import InvalidInput
from tradebot.exchange.base import SymbolFilters
from tradebot.exchange.snapshot import load_snapshot_filters

FILTERS = ("market", "filters")
# The updater refreshes exchangeInfo daily; three days of TTL ride out two failed refreshes
# before validation falls back to the shipped snapshot.
FILTERS_TTL_S = 3 * 24 * 3600

# SymbolFilters' fields by how they are stored: Decimals as plain strings (exact), the rest as
# JSON's own strings, numbers and booleans.
_TEXT = {"symbol", "base_asset", "quote_asset"}
_NUMBERS = {f.name for f in fields(SymbolFilters) if f.type in ("int", int)}
_FLAGS = {f.name for f in fields(SymbolFilters) if f.type in ("bool", bool)}


def _encode(filters: SymbolFilters) -> dict[str, Any]:
    return {
        name: format(value, "f") if isinstance(value, Decimal) else value
        for name, value in vars(filters).items()
    }


def _decode(raw: dict[str, Any]) -> SymbolFilters:
    """Filters as cached; a field the cached JSON lacks (written by an older version) keeps
    its default, and one this version does not know is ignored."""
    values: dict[str, Any] = {}
    for field in fields(SymbolFilters):
        if field.name not in raw:
            continue
        value = raw[field.name]
        if field.name in _TEXT:
            values[field.name] = str(value)
        elif field.name in _NUMBERS:
            values[field.name] = int(value)
        elif field.name in _FLAGS:
            values[field.name] = bool(value)
        else:
            values[field.name] = Decimal(str(value))
    return SymbolFilters(**values)


def store_filters(filters: dict[str, SymbolFilters]) -> None:
    """Cache filters read from the exchange (by the price updater; never on a request path)."""
    document = json.dumps({s: _encode(f) for s, f in filters.items()})
    get_redis().set(key(*FILTERS), document, ex=FILTERS_TTL_S)


def all_filters() -> dict[str, SymbolFilters]:
    """Filters of every tradable symbol: cached exchangeInfo, or the shipped snapshot."""
    try:
        cached = get_redis().get(key(*FILTERS))
    except RedisError:
        cached = None
    if cached:
        return {s: _decode(raw) for s, raw in json.loads(cached).items()}
    return load_snapshot_filters()


def filters_for(symbol: str) -> SymbolFilters:
    """One symbol's filters; 422 naming `symbol` when it is not traded."""
    filters = all_filters().get(symbol)
    if filters is None:
        raise InvalidInput.on("symbol", f"{symbol} is not a tradable symbol")
    return filters
