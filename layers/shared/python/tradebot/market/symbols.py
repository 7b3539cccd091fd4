"""Symbol filters for validation and the symbols route: Redis first, the shipped snapshot else."""

from __future__ import annotations

import json

from redis.exceptions import RedisError

from tradebot.cache.client import get_redis, key
from tradebot.errors import InvalidInput
from tradebot.exchange.base import SymbolFilters
from tradebot.exchange.snapshot import load_snapshot_filters

FILTERS = ("market", "filters")
FILTERS_TTL_S = 6 * 3600


def _encode(filters: SymbolFilters) -> dict[str, str]:
    return {name: format(value, "f") if not isinstance(value, str) else value
            for name, value in vars(filters).items()}  # fmt: skip


def _decode(raw: dict[str, str]) -> SymbolFilters:
    from decimal import Decimal

    text_fields = {"symbol", "base_asset", "quote_asset"}
    values = {k: (v if k in text_fields else Decimal(v)) for k, v in raw.items()}
    return SymbolFilters(**values)  # type: ignore[arg-type]


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
