"""Binance symbol filters as pure Decimal functions: rounding, formatting, parsing, checking."""

from __future__ import annotations

from collections.abc import Mapping
from decimal import ROUND_CEILING, ROUND_FLOOR, ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

from tradebot.errors import FieldError, InvalidInput
from tradebot.exchange.base import OrderRequest, OrderType, Side, SymbolFilters

ZERO = Decimal(0)


def _round_to_step(value: Decimal, step: Decimal, rounding: str) -> Decimal:
    # A zero step means Binance disabled that check, so any value is already "on the grid".
    if step == 0:
        return value
    return (value / step).to_integral_value(rounding=rounding) * step


def round_down(value: Decimal, step: Decimal) -> Decimal:
    """The largest multiple of `step` not above `value`."""
    return _round_to_step(value, step, ROUND_FLOOR)


def round_up(value: Decimal, step: Decimal) -> Decimal:
    """The smallest multiple of `step` not below `value`."""
    return _round_to_step(value, step, ROUND_CEILING)


def round_nearest(value: Decimal, step: Decimal) -> Decimal:
    """The multiple of `step` closest to `value` (halves round away from zero)."""
    return _round_to_step(value, step, ROUND_HALF_UP)


def is_multiple(value: Decimal, step: Decimal) -> bool:
    """Whether `value` lies exactly on the `step` grid (always true for a disabled step of 0)."""
    return step == 0 or value % step == 0


def format_decimal(value: Decimal) -> str:
    """A plain decimal string: no exponent, no trailing zeros ('1E-8' -> '0.00000001')."""
    if not value.is_finite():
        raise ValueError("only finite decimals can be formatted")
    text = format(value, "f")
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    # Decimal keeps the sign of zero ('-0.000'); an exchange or a trader never wants to see it.
    return "0" if text in {"-0", ""} else text


def _decimal_field(entry: Mapping[str, Any], key: str) -> Decimal:
    try:
        value = Decimal(str(entry[key]))
    except (KeyError, InvalidOperation) as exc:
        raise ValueError(f"filter {entry.get('filterType')} has no valid {key}") from exc
    if not value.is_finite():
        raise ValueError(f"filter {entry.get('filterType')} has a non-finite {key}")
    return value


def parse_filters(symbol_info: Mapping[str, Any]) -> SymbolFilters:
    """Build `SymbolFilters` from one `symbols[]` entry of Binance's exchangeInfo."""
    by_type = {entry["filterType"]: entry for entry in symbol_info.get("filters", [])}
    symbol = str(symbol_info["symbol"])
    try:
        price_filter = by_type["PRICE_FILTER"]
        lot_size = by_type["LOT_SIZE"]
    except KeyError as exc:
        raise ValueError(f"{symbol} has no {exc.args[0]} filter") from exc
    # Binance replaced MIN_NOTIONAL with NOTIONAL; older listings and testnet may still send it.
    notional = by_type.get("NOTIONAL") or by_type.get("MIN_NOTIONAL")
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
        min_notional=_decimal_field(notional, "minNotional") if notional else ZERO,
    )


def _fmt(value: Decimal) -> str:
    return format_decimal(value)


def _check_finite_positive(field: str, value: Decimal, errors: list[FieldError]) -> bool:
    # NaN and infinities make every comparison below raise or lie, so they stop here.
    if not value.is_finite():
        errors.append(FieldError(field, f"{field} must be a finite number"))
        return False
    if value <= 0:
        errors.append(FieldError(field, f"{field} must be greater than 0"))
        return False
    return True


def _check_price(field: str, value: Decimal, f: SymbolFilters, errors: list[FieldError]) -> None:
    if not _check_finite_positive(field, value, errors):
        return
    if f.min_price and value < f.min_price:
        errors.append(
            FieldError(
                field,
                f"{field} {_fmt(value)} is below the minimum price {_fmt(f.min_price)} "
                f"(PRICE_FILTER); nearest valid: {_fmt(f.min_price)}",
            )
        )
    elif f.max_price and value > f.max_price:
        errors.append(
            FieldError(
                field,
                f"{field} {_fmt(value)} is above the maximum price {_fmt(f.max_price)} "
                f"(PRICE_FILTER); nearest valid: {_fmt(f.max_price)}",
            )
        )
    elif not is_multiple(value - f.min_price, f.tick_size):
        # Binance's rule is (price - minPrice) % tickSize == 0, so the grid starts at minPrice.
        nearest = round_nearest(value - f.min_price, f.tick_size) + f.min_price
        nearest = max(nearest, f.min_price, f.tick_size)
        errors.append(
            FieldError(
                field,
                f"{field} {_fmt(value)} is not a multiple of tick size {_fmt(f.tick_size)} "
                f"(PRICE_FILTER); nearest valid: {_fmt(nearest)}",
            )
        )


def _check_quantity(value: Decimal, f: SymbolFilters, errors: list[FieldError]) -> bool:
    if not _check_finite_positive("quantity", value, errors):
        return False
    if value < f.min_qty:
        message = (
            f"quantity {_fmt(value)} is below the minimum quantity {_fmt(f.min_qty)} "
            f"(LOT_SIZE); nearest valid: {_fmt(f.min_qty)}"
        )
    elif f.max_qty and value > f.max_qty:
        message = (
            f"quantity {_fmt(value)} is above the maximum quantity {_fmt(f.max_qty)} "
            f"(LOT_SIZE); nearest valid: {_fmt(round_down(f.max_qty, f.step_size))}"
        )
    elif not is_multiple(value - f.min_qty, f.step_size):
        nearest = round_nearest(value - f.min_qty, f.step_size) + f.min_qty
        # Never suggest zero: the smallest tradable amount is minQty, or one step without it.
        nearest = max(nearest, f.min_qty if f.min_qty > 0 else f.step_size)
        message = (
            f"quantity {_fmt(value)} is not a multiple of step size {_fmt(f.step_size)} "
            f"(LOT_SIZE); nearest valid: {_fmt(nearest)}"
        )
    else:
        return True
    errors.append(FieldError("quantity", message))
    return False


def _min_quantity_for_notional(f: SymbolFilters, price: Decimal) -> Decimal:
    """The smallest quantity on the step grid whose notional at `price` meets the minimum."""
    quantity = round_up(f.min_notional / price, f.step_size)
    return max(quantity, f.min_qty)


def _check_notional(
    quantity: Decimal, price: Decimal, f: SymbolFilters, errors: list[FieldError]
) -> None:
    # A bad price was reported already; a notional computed from it would only add noise.
    if not price.is_finite() or price <= 0:
        return
    notional = quantity * price
    if notional < f.min_notional:
        errors.append(
            FieldError(
                "quantity",
                f"notional {_fmt(notional)} is below the minimum notional "
                f"{_fmt(f.min_notional)} (NOTIONAL); nearest valid quantity: "
                f"{_fmt(_min_quantity_for_notional(f, price))}",
            )
        )


def _check_quote_quantity(value: Decimal, f: SymbolFilters, errors: list[FieldError]) -> None:
    if value < f.min_notional:
        errors.append(
            FieldError(
                "quote_quantity",
                f"quote_quantity {_fmt(value)} is below the minimum notional "
                f"{_fmt(f.min_notional)} (NOTIONAL); nearest valid: {_fmt(f.min_notional)}",
            )
        )


def check_order(
    filters: SymbolFilters,
    side: Side,
    type: OrderType,
    quantity: Decimal | None,
    price: Decimal | None = None,
    *,
    stop_price: Decimal | None = None,
    reference_price: Decimal | None = None,
    quote_quantity: Decimal | None = None,
) -> None:
    """Raise `InvalidInput` naming every field that breaks the symbol's filters.

    The notional is `quantity * price` for LIMIT and STOP_LOSS_LIMIT, `quantity *
    reference_price` for MARKET, or the `quote_quantity` a MARKET order spends. A MARKET order
    without a reference price skips the notional check, since its fill price is unknown.
    `side` does not change any filter today; it is taken so callers pass the whole order.
    """
    del side  # Binance's PRICE_FILTER, LOT_SIZE and NOTIONAL are the same for both sides.
    errors: list[FieldError] = []

    if type == "MARKET":
        if (quantity is None) == (quote_quantity is None):
            message = "a MARKET order needs exactly one of quantity or quote_quantity"
            errors.append(FieldError("quantity", message))
    elif quantity is None:
        errors.append(FieldError("quantity", f"quantity is required for {type} orders"))
    if type in ("LIMIT", "STOP_LOSS_LIMIT") and price is None:
        errors.append(FieldError("price", f"price is required for {type} orders"))
    if type == "STOP_LOSS_LIMIT" and stop_price is None:
        errors.append(FieldError("stop_price", "stop_price is required for STOP_LOSS_LIMIT orders"))

    quantity_ok = quantity is not None and _check_quantity(quantity, filters, errors)
    if price is not None:
        _check_price("price", price, filters, errors)
    if stop_price is not None:
        _check_price("stop_price", stop_price, filters, errors)

    notional_price = reference_price if type == "MARKET" else price
    if quantity is not None and quantity_ok and notional_price is not None:
        _check_notional(quantity, notional_price, filters, errors)
    if quote_quantity is not None and _check_finite_positive(
        "quote_quantity", quote_quantity, errors
    ):
        _check_quote_quantity(quote_quantity, filters, errors)

    if errors:
        raise InvalidInput("; ".join(error.message for error in errors), errors)


def check_order_request(
    filters: SymbolFilters, order: OrderRequest, reference_price: Decimal | None = None
) -> None:
    """`check_order` for a whole `OrderRequest`."""
    check_order(
        filters,
        order.side,
        order.type,
        order.quantity,
        price=order.price,
        stop_price=order.stop_price,
        reference_price=reference_price,
        quote_quantity=order.quote_quantity,
    )
