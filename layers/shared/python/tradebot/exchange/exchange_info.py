"""Reading one `symbols[]` entry of Binance's exchangeInfo into `SymbolFilters`.

Every spot filter Binance sends is read; a filter that is absent is not applied (its fields keep
the "disabled" zero of `SymbolFilters`), as Binance does with a filter a symbol does not list.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal, InvalidOperation
from typing import Any

from tradebot.exchange.base import ZERO, SymbolFilters

DEFAULT_QUOTE_PRECISION = 8


def _decimal_field(entry: Mapping[str, Any], key: str) -> Decimal:
    try:
        value = Decimal(str(entry[key]))
    except (KeyError, InvalidOperation) as exc:
        raise ValueError(f"filter {entry.get('filterType')} has no valid {key}") from exc
    if not value.is_finite():
        raise ValueError(f"filter {entry.get('filterType')} has a non-finite {key}")
    return value


def _optional_decimal(entry: Mapping[str, Any] | None, key: str) -> Decimal:
    """A field of an optional filter: zero (not applied) when the filter or field is absent."""
    if entry is None or key not in entry:
        return ZERO
    return _decimal_field(entry, key)


def _int_field(entry: Mapping[str, Any] | None, key: str) -> int:
    if entry is None or key not in entry:
        return 0
    try:
        return int(entry[key])
    except (TypeError, ValueError) as exc:
        raise ValueError(f"filter {entry.get('filterType')} has no valid {key}") from exc


def _spot_trading(symbol_info: Mapping[str, Any]) -> bool:
    """isSpotTradingAllowed when sent; else SPOT in permissionSets (or the older permissions)."""
    if "isSpotTradingAllowed" in symbol_info:
        return bool(symbol_info["isSpotTradingAllowed"])
    sets = symbol_info.get("permissionSets") or [symbol_info.get("permissions") or []]
    listed = [permission for group in sets for permission in group]
    return not listed or "SPOT" in listed


def _quote_precision(symbol_info: Mapping[str, Any]) -> int:
    raw = symbol_info.get("quoteAssetPrecision", symbol_info.get("quotePrecision"))
    return DEFAULT_QUOTE_PRECISION if raw is None else int(raw)


def _notional_fields(by_type: Mapping[str, Mapping[str, Any]]) -> dict[str, Any]:
    notional = by_type.get("NOTIONAL")
    if notional is not None:
        return {
            "min_notional": _optional_decimal(notional, "minNotional"),
            "max_notional": _optional_decimal(notional, "maxNotional"),
            "apply_min_to_market": bool(notional.get("applyMinToMarket", True)),
            "apply_max_to_market": bool(notional.get("applyMaxToMarket", False)),
            "notional_avg_price_mins": _int_field(notional, "avgPriceMins"),
        }
    # Binance replaced MIN_NOTIONAL with NOTIONAL; older listings and testnet may still send it.
    legacy = by_type.get("MIN_NOTIONAL")
    return {
        "min_notional": _optional_decimal(legacy, "minNotional"),
        "apply_min_to_market": bool(legacy.get("applyToMarket", True)) if legacy else True,
        "notional_avg_price_mins": _int_field(legacy, "avgPriceMins"),
    }


def _percent_price_fields(by_type: Mapping[str, Mapping[str, Any]]) -> dict[str, Any]:
    by_side = by_type.get("PERCENT_PRICE_BY_SIDE")
    if by_side is not None:
        return {
            "bid_multiplier_up": _optional_decimal(by_side, "bidMultiplierUp"),
            "bid_multiplier_down": _optional_decimal(by_side, "bidMultiplierDown"),
            "ask_multiplier_up": _optional_decimal(by_side, "askMultiplierUp"),
            "ask_multiplier_down": _optional_decimal(by_side, "askMultiplierDown"),
            "percent_avg_price_mins": _int_field(by_side, "avgPriceMins"),
        }
    # The older PERCENT_PRICE is one range for both sides.
    both = by_type.get("PERCENT_PRICE")
    up, down = _optional_decimal(both, "multiplierUp"), _optional_decimal(both, "multiplierDown")
    return {
        "bid_multiplier_up": up,
        "bid_multiplier_down": down,
        "ask_multiplier_up": up,
        "ask_multiplier_down": down,
        "percent_avg_price_mins": _int_field(both, "avgPriceMins"),
    }


def parse_filters(symbol_info: Mapping[str, Any]) -> SymbolFilters:
    """Build `SymbolFilters` from one `symbols[]` entry of Binance's exchangeInfo."""
    by_type = {entry["filterType"]: entry for entry in symbol_info.get("filters", [])}
    symbol = str(symbol_info["symbol"])
    try:
        price_filter = by_type["PRICE_FILTER"]
        lot_size = by_type["LOT_SIZE"]
    except KeyError as exc:
        raise ValueError(f"{symbol} has no {exc.args[0]} filter") from exc
    market_lot = by_type.get("MARKET_LOT_SIZE")
    return SymbolFilters(
        symbol=symbol,
        base_asset=str(symbol_info["baseAsset"]),
        quote_asset=str(symbol_info["quoteAsset"]),
        tick_size=_decimal_field(price_filter, "tickSize"),
        step_size=_decimal_field(lot_size, "stepSize"),
        min_qty=_decimal_field(lot_size, "minQty"),
        max_qty=_decimal_field(lot_size, "maxQty"),
        min_price=_decimal_field(price_filter, "minPrice"),
        max_price=_decimal_field(price_filter, "maxPrice"),
        **_notional_fields(by_type),
        market_min_qty=_optional_decimal(market_lot, "minQty"),
        market_max_qty=_optional_decimal(market_lot, "maxQty"),
        market_step_size=_optional_decimal(market_lot, "stepSize"),
        **_percent_price_fields(by_type),
        max_num_orders=_int_field(by_type.get("MAX_NUM_ORDERS"), "maxNumOrders"),
        max_num_algo_orders=_int_field(by_type.get("MAX_NUM_ALGO_ORDERS"), "maxNumAlgoOrders"),
        quote_precision=_quote_precision(symbol_info),
        spot_trading=_spot_trading(symbol_info),
    )
