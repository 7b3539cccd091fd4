"""Price history for charts: one point per symbol every `price_history_step_s`, 24 h kept.

Each symbol has a capped Redis list of "epoch-seconds price" strings, appended by the scheduled
update (RPUSH then LTRIM, so it never holds more than a day of points even if the clock jumps)
and read newest-last. A list is the compact choice: a day of one-minute points for every symbol
of the exchange (~2,000) is ~3 M short strings in listpacks, not a sorted set's skiplist.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Literal

from tradebot.cache.client import get_redis, key
from tradebot.settings import get_settings

HISTORY_SPAN_S = 24 * 3600
HistoryWindow = Literal["1h", "24h"]
WINDOW_S: dict[str, int] = {"1h": 3600, "24h": HISTORY_SPAN_S}
LAST_BUCKET = ("prices", "history", "bucket")


def _series(symbol: str) -> str:
    return key("prices", "history", symbol)


def max_points(step_s: int) -> int:
    """How many points a day holds at one point every `step_s` seconds (the list's cap)."""
    return math.ceil(HISTORY_SPAN_S / step_s) + 1


@dataclass(frozen=True)
class PricePoint:
    """A price and when the update read it."""

    t: datetime
    price: Decimal


def record_history(prices: dict[str, Decimal], at: float | None = None) -> bool:
    """Append one point per symbol unless this step already has one; True when appended.

    Updates run more often than the step in the local stack (every 5 s): only the first update
    of each step is kept, so the list spans a day whatever the update rate.
    """
    if not prices:
        return False
    now = at if at is not None else time.time()
    step = get_settings().price_history_step_s
    bucket = str(int(now // step))
    redis = get_redis()
    previous = redis.set(key(*LAST_BUCKET), bucket, get=True, ex=HISTORY_SPAN_S)
    if previous == bucket:
        return False
    cap = max_points(step)
    stamp = int(now)
    pipe = redis.pipeline(transaction=False)
    for symbol, price in prices.items():
        series = _series(symbol)
        pipe.rpush(series, f"{stamp} {format(price, 'f')}")
        pipe.ltrim(series, -cap, -1)
        pipe.expire(series, HISTORY_SPAN_S)
    pipe.execute()
    return True


def read_history(symbol: str, window: HistoryWindow, now: float | None = None) -> list[PricePoint]:
    """The symbol's points within `window` of now, oldest first (empty when it has none)."""
    moment = now if now is not None else time.time()
    span = WINDOW_S[window]
    # The newest points the window can hold at one a step; older ones are filtered by time.
    wanted = math.ceil(span / get_settings().price_history_step_s) + 1
    raw: list[str] = get_redis().lrange(_series(symbol), -wanted, -1)  # type: ignore[assignment]
    since = moment - span
    points = []
    for entry in raw:
        stamp, price = entry.split(" ", 1)
        if int(stamp) >= since:
            at = datetime.fromtimestamp(int(stamp), UTC)
            points.append(PricePoint(t=at, price=Decimal(price)))
    return points
