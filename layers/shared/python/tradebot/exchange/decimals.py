"""Exchange numbers as Decimals: the step grids Binance's filters define, and plain formatting.

Re-exported by exchange/filters.py, which checks orders against those grids.
"""

from __future__ import annotations

from decimal import ROUND_CEILING, ROUND_FLOOR, ROUND_HALF_UP, Decimal


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


def on_grid(value: Decimal, origin: Decimal, step: Decimal, rounding: str) -> Decimal:
    """`value` moved onto the grid `origin + k * step` (Binance's grids start at the minimum)."""
    return _round_to_step(value - origin, step, rounding) + origin


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
