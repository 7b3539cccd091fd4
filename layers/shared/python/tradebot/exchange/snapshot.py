"""The exchangeInfo snapshot and reference prices shipped with the layer.

Paper trading, input checks and the local stack use these instead of calling Binance, so a cold
start never waits on the network just to know a symbol's tick size.
"""

from __future__ import annotations

import json
from decimal import Decimal
from functools import cache
from importlib import resources
from typing import Any

from tradebot.exchange.base import SymbolFilters
from tradebot.exchange.filters import parse_filters

_PACKAGE = "tradebot.exchange"
SYMBOLS_FILE = "symbols.json"
REFERENCE_PRICES_FILE = "reference_prices.json"


def _read_json(name: str) -> Any:
    return json.loads(resources.files(_PACKAGE).joinpath(name).read_text(encoding="utf-8"))


def load_exchange_info() -> dict[str, Any]:
    """A fresh copy of the snapshot in Binance's `GET /api/v3/exchangeInfo` shape."""
    document: dict[str, Any] = _read_json(SYMBOLS_FILE)
    return document


@cache
def _filters() -> tuple[tuple[str, SymbolFilters], ...]:
    symbols = load_exchange_info()["symbols"]
    return tuple(
        (entry["symbol"], parse_filters(entry)) for entry in symbols if entry["status"] == "TRADING"
    )


@cache
def _prices() -> tuple[tuple[str, Decimal], ...]:
    raw: dict[str, str] = _read_json(REFERENCE_PRICES_FILE)
    return tuple((symbol, Decimal(price)) for symbol, price in raw.items())


def load_snapshot_filters() -> dict[str, SymbolFilters]:
    """Filters of every tradable symbol in the snapshot, by symbol (read once, then cached)."""
    # The cache holds immutable tuples; each caller gets its own dict to do with as it likes.
    return dict(_filters())


def reference_prices() -> dict[str, Decimal]:
    """Plausible prices per symbol for paper trading and tests before the first price update."""
    return dict(_prices())
