"""One-minute candles as GET /api/v3/klines answers them, built from the fake's price history.

The fake's price is a level that moves when a test sets it (`set_price`) or an order fills:
each change is recorded with its time, so a candle shows every price the market was at in its
minute, even one a test moved through and back between two price updates.
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal
from typing import Any

MINUTE_MS = 60_000
Moves = Sequence[tuple[int, Decimal]]  # (ms, price), oldest first


def level_before(moves: Moves, at_ms: int, opening: Decimal) -> Decimal:
    """The price the market stood at just before `at_ms`."""
    earlier = [price for moved_ms, price in moves if moved_ms < at_ms]
    return earlier[-1] if earlier else opening


def candle(moves: Moves, open_ms: int, opening: Decimal) -> list[Any]:
    """The candle of the minute opening at `open_ms`, in Binance's kline layout."""
    start = level_before(moves, open_ms, opening)
    inside = [price for moved_ms, price in moves if open_ms <= moved_ms < open_ms + MINUTE_MS]
    seen = [start, *inside]
    fmt = "{:.8f}".format
    return [
        open_ms, fmt(start), fmt(max(seen)), fmt(min(seen)), fmt(seen[-1]), "0.00000000",
        open_ms + MINUTE_MS - 1, "0.00000000", len(inside), "0.00000000", "0.00000000", "0",
    ]  # fmt: skip


def minute_opens(params: dict[str, str], now_ms: int) -> list[int]:
    """The open times Binance answers for these parameters: candles opening at or after
    startTime (and at or before endTime), the first `limit`; without startTime, the last."""
    limit = int(params.get("limit", "500"))
    current = now_ms // MINUTE_MS * MINUTE_MS
    last = (
        min(current, int(params["endTime"]) // MINUTE_MS * MINUTE_MS)
        if "endTime" in params
        else current
    )
    if "startTime" in params:
        first = -(-int(params["startTime"]) // MINUTE_MS) * MINUTE_MS  # rounded up
        return list(range(first, last + 1, MINUTE_MS))[:limit]
    return list(range(last - (limit - 1) * MINUTE_MS, last + 1, MINUTE_MS))
