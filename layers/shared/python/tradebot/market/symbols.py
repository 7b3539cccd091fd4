"""Symbol filters for validation and the symbols route: Redis first, the shipped snapshot else."""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from dataclasses import dataclass, fields
from decimal import Decimal
from typing import Any

from redis.exceptions import RedisError

from tradebot.cache.client import get_redis, key
from tradebot.errors import InvalidInput
from tradebot.exchange.base import SymbolFilters
from tradebot.exchange.snapshot import load_snapshot_filters

FILTERS = ("market", "filters")
# Changes with every store: a process decodes the (exchange-wide) list once per version.
FILTERS_VERSION = ("market", "filters_version")
# The updater refreshes exchangeInfo daily; three days of TTL ride out two failed refreshes
# before validation falls back to the shipped snapshot.
FILTERS_TTL_S = 3 * 24 * 3600


def _converter(annotation: object) -> Callable[[Any], Any]:
    """How one SymbolFilters field is read back: Decimals from their exact strings."""
    if annotation in ("str", str):
        return str
    if annotation in ("int", int):
        return int
    if annotation in ("bool", bool):
        return bool
    return lambda value: Decimal(str(value))


_FIELDS = tuple((f.name, _converter(f.type)) for f in fields(SymbolFilters))


def _encode(filters: SymbolFilters) -> dict[str, Any]:
    return {
        name: format(value, "f") if isinstance(value, Decimal) else value
        for name, value in vars(filters).items()
    }


def _decode(raw: dict[str, Any]) -> SymbolFilters:
    """Filters as cached; a field the cached JSON lacks (written by an older version) keeps
    its default, and one this version does not know is ignored."""
    return SymbolFilters(**{name: read(raw[name]) for name, read in _FIELDS if name in raw})


@dataclass(frozen=True)
class _Decoded:
    version: bytes | str
    filters: dict[str, SymbolFilters]


# The last list this process decoded. Thousands of symbols take tens of milliseconds to decode,
# which every order check and fill would otherwise pay again for the same daily list.
_last: _Decoded | None = None


def store_filters(filters: dict[str, SymbolFilters]) -> None:
    """Cache filters read from the exchange (by the price updater; never on a request path)."""
    document = json.dumps({s: _encode(f) for s, f in filters.items()})
    pipe = get_redis().pipeline(transaction=True)
    pipe.set(key(*FILTERS), document, ex=FILTERS_TTL_S)
    pipe.set(key(*FILTERS_VERSION), uuid.uuid4().hex, ex=FILTERS_TTL_S)
    pipe.execute()


def _cached_filters() -> dict[str, SymbolFilters] | None:
    global _last  # noqa: PLW0603 - one decoded list per process, replaced whole
    redis = get_redis()
    pipe = redis.pipeline(transaction=False)
    pipe.get(key(*FILTERS_VERSION))
    pipe.exists(key(*FILTERS))
    version, present = pipe.execute()
    if not present:
        return None
    seen = _last
    if version is not None and seen is not None and seen.version == version:
        return seen.filters
    cached = redis.get(key(*FILTERS))
    if not cached:
        return None
    decoded = {s: _decode(raw) for s, raw in json.loads(cached).items()}
    if version is not None:
        _last = _Decoded(version, decoded)
    return decoded


def all_filters() -> dict[str, SymbolFilters]:
    """Filters of every tradable symbol: cached exchangeInfo, or the shipped snapshot."""
    try:
        cached = _cached_filters()
    except RedisError:
        cached = None
    # Each caller gets its own dict; the filters in it are immutable.
    return dict(cached) if cached else load_snapshot_filters()


def filters_for(symbol: str) -> SymbolFilters:
    """One symbol's filters; 422 naming `symbol` when it is not traded."""
    filters = all_filters().get(symbol)
    if filters is None:
        raise InvalidInput.on("symbol", f"{symbol} is not a tradable symbol")
    return filters
