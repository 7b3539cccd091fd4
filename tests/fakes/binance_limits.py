"""Binance's rate limits, as the fake applies them: request weight per minute, 429, then 418.

Binance counts each request's weight against the caller's IP in one-minute windows and reports
the running total in `X-MBX-USED-WEIGHT-1M` on every answer; order placements also report the
account's `X-MBX-ORDER-COUNT-10S` and `-1D`. Past the limit it answers 429 (-1003) with a
Retry-After to the next window; a client that calls again before then is banned: 418, with a
Retry-After to the ban's end, two minutes at first and longer for a repeat offender.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

# Weights from Binance's spot REST documentation; anything not listed weighs 1.
WEIGHTS: dict[tuple[str, str], int] = {
    ("GET", "/api/v3/ping"): 1,
    ("GET", "/api/v3/time"): 1,
    ("GET", "/api/v3/exchangeInfo"): 20,
    ("GET", "/api/v3/account"): 20,
    ("POST", "/api/v3/order"): 1,
    ("GET", "/api/v3/order"): 4,
    ("DELETE", "/api/v3/order"): 1,
    ("GET", "/api/v3/allOrders"): 20,
    ("GET", "/api/v3/klines"): 2,
}
ORDER = ("POST", "/api/v3/order")
FIRST_BAN_S = 120
LONGEST_BAN_S = 3 * 86400


def request_weight(method: str, path: str, params: dict[str, str]) -> int:
    """The weight Binance charges for one request."""
    if (method, path) == ("GET", "/api/v3/ticker/price"):
        return 2 if "symbol" in params else 4  # several symbols, or all of them: 4
    if (method, path) == ("GET", "/api/v3/openOrders"):
        return 6 if "symbol" in params else 80
    if (method, path) == ("GET", "/api/v3/myTrades"):
        return 5 if "orderId" in params else 20
    return WEIGHTS.get((method, path), 1)


@dataclass(frozen=True)
class Refusal:
    """A 429 or 418 answer: status, seconds to wait, Binance's message."""

    status: int
    retry_after_s: int
    msg: str


class RateLimits:
    """The fake's counters; `clock` is a seam so a test can cross a window without waiting."""

    def __init__(self, clock: Callable[[], float] = time.time) -> None:
        self.weight_limit = 6000
        self.clock = clock
        self.ban_s = FIRST_BAN_S  # the next ban's length; doubles for a repeat offender
        self.backoff_until = 0.0
        self.banned_until = 0.0
        self._weight: dict[int, int] = {}  # minute -> weight used
        # (API key, window length, window) -> new orders: Binance counts orders per account.
        self._orders: dict[tuple[str, int, int], int] = {}
        self._lock = threading.Lock()

    def used_weight(self) -> int:
        """The weight used in the current minute."""
        with self._lock:
            return self._weight.get(int(self.clock() // 60), 0)

    def admit(
        self, method: str, path: str, params: dict[str, str], account: str = ""
    ) -> Refusal | None:
        """Count one request (of `account`, its API key); the 429 or 418 to answer instead, or
        None to serve it."""
        with self._lock:
            now = self.clock()
            if now < self.banned_until:
                return self._ban_answer(now)
            if now < self.backoff_until:
                # Told to back off, called anyway: that is what Binance bans an IP for.
                self.banned_until = now + self.ban_s
                self.ban_s = min(2 * self.ban_s, LONGEST_BAN_S)
                return self._ban_answer(now)
            minute = int(now // 60)
            used = self._weight.get(minute, 0) + request_weight(method, path, params)
            self._weight = {minute: used}
            if (method, path) == ORDER:
                current = {(length, int(now // length)) for length in (10, 86400)}
                self._orders = {w: n for w, n in self._orders.items() if w[1:] in current}
                for length, window in current:
                    counted = (account, length, window)
                    self._orders[counted] = self._orders.get(counted, 0) + 1
            if used <= self.weight_limit:
                return None
            self.backoff_until = (minute + 1) * 60.0
            msg = (
                f"Too much request weight used; current limit is {self.weight_limit} request "
                "weight per 1 MINUTE. Please use WebSocket Streams for live updates to avoid "
                "polling the API."
            )
            return Refusal(429, max(1, math.ceil(self.backoff_until - now)), msg)

    def _ban_answer(self, now: float) -> Refusal:
        until_ms = int(self.banned_until * 1000)
        msg = (
            f"Way too much request weight used; IP banned until {until_ms}. Please use "
            "WebSocket Streams for live updates to avoid bans."
        )
        return Refusal(418, max(1, math.ceil(self.banned_until - now)), msg)

    def headers(self, method: str, path: str, account: str = "") -> dict[str, str]:
        """The counters every answer reports (and `account`'s order counts on a placement's)."""
        with self._lock:
            now = self.clock()
            found = {"X-MBX-USED-WEIGHT-1M": str(self._weight.get(int(now // 60), 0))}
            if (method, path) == ORDER:
                for length, name in ((10, "10S"), (86400, "1D")):
                    count = self._orders.get((account, length, int(now // length)), 0)
                    found[f"X-MBX-ORDER-COUNT-{name}"] = str(count)
        return found
