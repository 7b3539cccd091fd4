"""Binance symbol filters as pure Decimal functions: rounding, formatting, checking.

`check_order` applies every spot filter the way Binance does before it accepts an order, so a
breach is refused here, naming the field and the nearest value that would pass. The rounding
and formatting helpers live in exchange/decimals.py and are re-exported from here.
"""

from __future__ import annotations

from decimal import ROUND_CEILING, ROUND_FLOOR, ROUND_HALF_UP, Decimal

from tradebot.errors import FieldError, InvalidInput
from tradebot.exchange.base import (
    ALGO_ORDER_TYPES,
    ZERO,
    OrderRequest,
    OrderType,
    Side,
    SymbolFilters,
)
from tradebot.exchange.decimals import (
    format_decimal,
    is_multiple,
    on_grid,
    round_down,
    round_nearest,
    round_up,
)
from tradebot.exchange.exchange_info import parse_filters

__all__ = [
    "check_order",
    "check_order_request",
    "format_decimal",
    "is_multiple",
    "parse_filters",
    "round_down",
    "round_nearest",
    "round_up",
]


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


def _check_lot(
    value: Decimal,
    lot: tuple[Decimal, Decimal, Decimal],
    grid: tuple[Decimal, Decimal],
    filter_name: str,
    errors: list[FieldError],
) -> bool:
    """`quantity` against one lot filter `(minQty, maxQty, stepSize)`; a 0 disables a rule.

    `grid` is the (origin, step) a suggestion must sit on: LOT_SIZE's, which every order obeys.
    """
    low, high, step = lot
    origin, grid_step = grid
    if value < low:
        message = (
            f"quantity {_fmt(value)} is below the minimum quantity {_fmt(low)} "
            f"({filter_name}); nearest valid: {_fmt(max(low, origin))}"
        )
    elif high and value > high:
        nearest = on_grid(high, origin, grid_step, ROUND_FLOOR)
        message = (
            f"quantity {_fmt(value)} is above the maximum quantity {_fmt(high)} "
            f"({filter_name}); nearest valid: {_fmt(nearest)}"
        )
    elif not is_multiple(value - low, step):
        nearest = on_grid(value, low, step, ROUND_HALF_UP)
        # Never suggest zero: the smallest tradable amount is minQty, or one step without it.
        nearest = max(nearest, low if low > 0 else step)
        message = (
            f"quantity {_fmt(value)} is not a multiple of step size {_fmt(step)} "
            f"({filter_name}); nearest valid: {_fmt(nearest)}"
        )
    else:
        return True
    errors.append(FieldError("quantity", message))
    return False


def _check_quantity(
    value: Decimal, type: OrderType, f: SymbolFilters, errors: list[FieldError]
) -> bool:
    """LOT_SIZE for every order, then MARKET_LOT_SIZE on top for a MARKET order."""
    if not _check_finite_positive("quantity", value, errors):
        return False
    grid = (f.min_qty, f.step_size)
    if not _check_lot(value, (f.min_qty, f.max_qty, f.step_size), grid, "LOT_SIZE", errors):
        return False
    if type != "MARKET":
        return True
    market_lot = (f.market_min_qty, f.market_max_qty, f.market_step_size)
    return _check_lot(value, market_lot, grid, "MARKET_LOT_SIZE", errors)


def _check_notional(
    quantity: Decimal,
    price: Decimal,
    f: SymbolFilters,
    errors: list[FieldError],
    *,
    market: bool,
) -> None:
    """NOTIONAL: min and max for a priced order; for MARKET only what applyMin/MaxToMarket say."""
    # A bad price was reported already; a notional computed from it would only add noise.
    if not price.is_finite() or price <= 0:
        return
    notional = quantity * price
    if (f.apply_min_to_market or not market) and notional < f.min_notional:
        nearest = max(on_grid(f.min_notional / price, f.min_qty, f.step_size, ROUND_CEILING),
                      f.min_qty)  # fmt: skip
        errors.append(
            FieldError(
                "quantity",
                f"notional {_fmt(notional)} is below the minimum notional "
                f"{_fmt(f.min_notional)} (NOTIONAL); nearest valid quantity: {_fmt(nearest)}",
            )
        )
    elif f.max_notional and (f.apply_max_to_market or not market) and notional > f.max_notional:
        nearest = on_grid(f.max_notional / price, f.min_qty, f.step_size, ROUND_FLOOR)
        errors.append(
            FieldError(
                "quantity",
                f"notional {_fmt(notional)} is above the maximum notional "
                f"{_fmt(f.max_notional)} (NOTIONAL); nearest valid quantity: {_fmt(nearest)}",
            )
        )


def _check_percent_price(
    side: Side, price: Decimal, reference: Decimal, f: SymbolFilters, errors: list[FieldError]
) -> None:
    """PERCENT_PRICE_BY_SIDE: a limit price within the side's multipliers of the market."""
    up, down = (
        (f.bid_multiplier_up, f.bid_multiplier_down)
        if side == "BUY"
        else (f.ask_multiplier_up, f.ask_multiplier_down)
    )
    highest, lowest = reference * up, reference * down
    if up and price > highest:
        bound, nearest = highest, on_grid(highest, f.min_price, f.tick_size, ROUND_FLOOR)
        where, multiplier = "above", up
    elif down and price < lowest:
        bound, nearest = lowest, on_grid(lowest, f.min_price, f.tick_size, ROUND_CEILING)
        where, multiplier = "below", down
    else:
        return
    errors.append(
        FieldError(
            "price",
            f"price {_fmt(price)} is {where} {_fmt(multiplier)}x the market price "
            f"{_fmt(reference)} ({_fmt(bound)}) allowed for a {side} (PERCENT_PRICE_BY_SIDE); "
            f"nearest valid: {_fmt(nearest)}",
        )
    )


def _check_quote_quantity(
    value: Decimal, reference: Decimal | None, f: SymbolFilters, errors: list[FieldError]
) -> None:
    """A MARKET order's spend: the quote asset's precision, NOTIONAL, and the quantity it buys."""
    unit = Decimal(1).scaleb(-f.quote_precision)
    if not is_multiple(value, unit):
        nearest = max(round_nearest(value, unit), unit)
        message = (
            f"quote_quantity {_fmt(value)} has more than {f.quote_precision} decimals, the "
            f"precision of {f.quote_asset} (quoteAssetPrecision); nearest valid: {_fmt(nearest)}"
        )
    elif f.apply_min_to_market and value < f.min_notional:
        message = (
            f"quote_quantity {_fmt(value)} is below the minimum notional "
            f"{_fmt(f.min_notional)} (NOTIONAL); nearest valid: {_fmt(f.min_notional)}"
        )
    elif f.apply_max_to_market and f.max_notional and value > f.max_notional:
        message = (
            f"quote_quantity {_fmt(value)} is above the maximum notional "
            f"{_fmt(f.max_notional)} (NOTIONAL); nearest valid: {_fmt(f.max_notional)}"
        )
    elif reference is not None and value > (most := _most_spend(f, reference)):
        limit = _market_quantity_limit(f)
        nearest = round_down(most, unit)
        message = (
            f"quote_quantity {_fmt(value)} buys more than the maximum quantity {_fmt(limit)} "
            f"(MARKET_LOT_SIZE) at the market price {_fmt(reference)}; "
            f"nearest valid: {_fmt(nearest)}"
        )
    else:
        return
    errors.append(FieldError("quote_quantity", message))


def _priced(reference: Decimal | None) -> bool:
    return reference is not None and reference.is_finite() and reference > 0


def _market_quantity_limit(f: SymbolFilters) -> Decimal:
    """The most a MARKET order may trade: the lower of LOT_SIZE's and MARKET_LOT_SIZE's max."""
    limits = [limit for limit in (f.max_qty, f.market_max_qty) if limit > 0]
    return min(limits, default=ZERO)


def _most_spend(f: SymbolFilters, reference: Decimal) -> Decimal:
    """The largest quote amount a MARKET order may spend at `reference` (infinite: no limit)."""
    limit = _market_quantity_limit(f)
    if not limit or not _priced(reference):
        return Decimal("Infinity")
    return limit * reference


def _check_open_orders(
    type: OrderType,
    open_orders: int | None,
    open_algo_orders: int | None,
    f: SymbolFilters,
    errors: list[FieldError],
) -> None:
    """MAX_NUM_ORDERS (every open order on the symbol) and MAX_NUM_ALGO_ORDERS (stops)."""
    if open_orders is not None and f.max_num_orders and open_orders >= f.max_num_orders:
        errors.append(
            FieldError(
                "symbol",
                f"{f.symbol} already has {open_orders} open orders, the most allowed "
                f"(MAX_NUM_ORDERS: {f.max_num_orders}); nearest valid: none until an open "
                f"{f.symbol} order is canceled or filled",
            )
        )
    elif (
        type in ALGO_ORDER_TYPES
        and open_algo_orders is not None
        and f.max_num_algo_orders
        and open_algo_orders >= f.max_num_algo_orders
    ):
        errors.append(
            FieldError(
                "type",
                f"{f.symbol} already has {open_algo_orders} open {type} orders, the most "
                f"allowed (MAX_NUM_ALGO_ORDERS: {f.max_num_algo_orders}); nearest valid: LIMIT",
            )
        )


def _check_presence(
    type: OrderType,
    quantity: Decimal | None,
    price: Decimal | None,
    stop_price: Decimal | None,
    quote_quantity: Decimal | None,
    errors: list[FieldError],
) -> None:
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
    open_orders: int | None = None,
    open_algo_orders: int | None = None,
) -> None:
    """Raise `InvalidInput` naming every field that breaks the symbol's filters.

    `reference_price` is the market price Binance compares with (its average price): the
    notional of a MARKET order is `quantity * reference_price`, and PERCENT_PRICE_BY_SIDE
    bounds a limit price around it. Without one, those two checks are skipped, since the
    market is unknown; LIMIT and STOP_LOSS_LIMIT notionals use their own `price`.
    `open_orders` / `open_algo_orders` are the user's open orders on the symbol (all, and
    STOP_LOSS_LIMIT ones), for MAX_NUM_ORDERS and MAX_NUM_ALGO_ORDERS; None skips them.
    """
    errors: list[FieldError] = []
    _check_presence(type, quantity, price, stop_price, quote_quantity, errors)

    quantity_ok = quantity is not None and _check_quantity(quantity, type, filters, errors)
    price_errors = len(errors)
    if price is not None:
        _check_price("price", price, filters, errors)
    if price is not None and len(errors) == price_errors and _priced(reference_price):
        assert reference_price is not None
        _check_percent_price(side, price, reference_price, filters, errors)
    if stop_price is not None:
        _check_price("stop_price", stop_price, filters, errors)

    market = type == "MARKET"
    notional_price = reference_price if market else price
    if quantity is not None and quantity_ok and notional_price is not None:
        _check_notional(quantity, notional_price, filters, errors, market=market)
    if quote_quantity is not None and _check_finite_positive(
        "quote_quantity", quote_quantity, errors
    ):
        _check_quote_quantity(quote_quantity, reference_price, filters, errors)
    _check_open_orders(type, open_orders, open_algo_orders, filters, errors)

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
