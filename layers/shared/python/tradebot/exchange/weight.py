"""Binance's request budget, shared by every function of the deployment through Redis.

Every Lambda leaves through one Elastic IP, and Binance counts request weight per IP (6000 a
minute) and new orders per account (50 per 10 s, 160000 a day). Each answer says how much is
used so far (`X-MBX-USED-WEIGHT-1M`, `X-MBX-ORDER-COUNT-10S`, `-1D`): `RequestBudget.record`
keeps the highest figure of the current window in Redis, and `RequestBudget.before_request`
slows down before the limit. A 429 or 418 stores "backing off until T" (`back_off`): until then
no function calls Binance at all, because calling on after a 429 is what gets the IP banned.

Redis makes the figures shared; it is not needed for trading. When it fails, each process goes
on with what it saw itself (logged once per outage), which is how it worked before there was a
shared view.

No python-binance or requests here: /health reads the back-off without paying for them.
"""

from __future__ import annotations

import hashlib
import logging
import math
import re
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import cache
from typing import TYPE_CHECKING, Final

from redis.exceptions import RedisError

from tradebot.cache.client import get_redis, key
from tradebot.errors import ExchangeRateLimited
from tradebot.settings import get_settings

if TYPE_CHECKING:
    from redis import Redis
    from redis.client import Pipeline

logger = logging.getLogger(__name__)

Clock = Callable[[], float]
Sleep = Callable[[float], None]

# "X-MBX-USED-WEIGHT-1M", "X-MBX-ORDER-COUNT-10S": what is counted, over how many of which unit.
_HEADER: Final = re.compile(r"^x-mbx-(used-weight|order-count)-(\d+)([smhd])$", re.IGNORECASE)
_UNIT_S: Final = {"s": 1, "m": 60, "h": 3600, "d": 86400}
# One sorted-set member per key: ZADD GT keeps the highest figure without a read-modify-write.
_MEMBER: Final = "v"
# Binance's shortest IP ban, for a 418 that does not say how long (it always should).
MIN_BAN_S: Final = 120.0
# Our clock and Binance's are not the same clock: wait a little past the window's end.
WINDOW_MARGIN_S: Final = 0.5
# How long a window's figure is kept in Redis after the window ends.
_KEEP_S: Final = 5
_TOO_MANY_ORDERS: Final = -1015
# Below this share of the soft limit a figure is written to Redis with this process's next
# read (one round trip per call instead of two): nobody acts on it yet, and every process reads
# the IP's figure off its own answers too. From there on it is written at once.
SHARE_AT_ONCE_FROM: Final = 0.5
# After a Redis failure, how long to go on with the per-process view before trying Redis again:
# a hung Redis costs its timeout once in a while, not on every Binance call.
REDIS_RETRY_S: Final = 5.0


@dataclass(frozen=True)
class Limit:
    """One of Binance's counters: per IP (request weight) or per account (orders)."""

    counter: str  # "used-weight" or "order-count", as in the header's name
    interval: str  # "1m", "10s", "1d"
    limit: int

    @property
    def window_s(self) -> int:
        """The window's length in seconds."""
        return int(self.interval[:-1]) * _UNIT_S[self.interval[-1]]

    @property
    def per_account(self) -> bool:
        """Order counts are per account; request weight is per IP, shared by everyone."""
        return self.counter == "order-count"


def _interval_of(number: str, unit: str) -> str:
    return f"{int(number)}{unit.lower()}"


def retry_after_of(headers: Mapping[str, str]) -> float | None:
    """The Retry-After header in seconds, or None when absent or not a number."""
    value = headers.get("Retry-After")
    try:
        return float(value) if value is not None else None
    except ValueError:
        return None


def account_of(api_key: str | None) -> str | None:
    """The name an API key's counters are kept under: a digest, so Redis never holds the key."""
    if not api_key:
        return None
    return hashlib.sha256(api_key.encode()).hexdigest()[:16]


class RequestBudget:
    """Binance's used weight, order counts and back-off, as every function sees them.

    `account` names the API key's account (a digest, never the key itself); keyless public
    calls pass None and count only against the IP's weight. The clock and sleep are seams for
    the tests; `max_wait_s` bounds how long a call may be held back before it is refused.
    """

    def __init__(
        self,
        *,
        weight_limit: int = 6000,
        order_limit_10s: int = 50,
        order_limit_1d: int = 160_000,
        soft_ratio: float = 0.8,
        max_wait_s: float = 10.0,
        redis: Callable[[], Redis] = get_redis,
        clock: Clock = time.time,
        sleep: Sleep = time.sleep,
    ) -> None:
        self.weight = Limit("used-weight", "1m", weight_limit)
        self.orders = (
            Limit("order-count", "10s", order_limit_10s),
            Limit("order-count", "1d", order_limit_1d),
        )
        self.soft_ratio = soft_ratio
        self.max_wait_s = max_wait_s
        self.clock = clock
        self.sleep = sleep
        self._redis = redis
        # The per-process view: Redis key -> (highest figure, when it stops mattering).
        self._local: dict[str, tuple[float, float]] = {}
        self._lock = threading.Lock()
        self._redis_down = False
        self._redis_retry_at = 0.0  # time.monotonic(): Redis is skipped until then
        # Figures not yet written to Redis (they go with the next read), and the keys whose
        # expiry this process has set already (a window's key needs it once).
        self._pending: list[tuple[str, float, float]] = []
        self._expiring: dict[str, float] = {}

    def __repr__(self) -> str:
        return f"RequestBudget(weight_limit={self.weight.limit}, soft_ratio={self.soft_ratio})"

    # --- before a call --------------------------------------------------------------------

    def before_request(self, account: str | None = None, *, placing: bool = False) -> None:
        """Return when a request may go out; raise `ExchangeRateLimited` when it may not.

        Refused at once while a back-off holds. Past `soft_ratio` of a limit, waits for the
        next window if that is at most `max_wait_s` away (in all), else refuses with the wait
        as `retry_after_s`: a Lambda must not sleep for minutes, its queue retries later.
        """
        limits = [self.weight, *(self.orders if placing and account else ())]
        waited = 0.0
        while True:
            now = self.clock()
            backoffs = [self._backoff_key(None)]
            if placing and account:
                backoffs.append(self._backoff_key(account))
            counters = [self._counter_key(limit, account, now) for limit in limits]
            figures = self._read(backoffs + counters)
            until = max((f for f in figures[: len(backoffs)] if f is not None), default=0.0)
            if until > now:
                raise ExchangeRateLimited(
                    f"Binance asked us to back off; not calling it for {until - now:.0f} s",
                    retry_after_s=until - now,
                )
            wait = max(
                (
                    self._window_end(limit, now) - now
                    for limit, used in zip(limits, figures[len(backoffs) :], strict=True)
                    if used is not None and used >= limit.limit * self.soft_ratio
                ),
                default=0.0,
            )
            if wait <= 0:
                return
            if waited + wait > self.max_wait_s:
                raise ExchangeRateLimited(
                    f"Binance request budget nearly used; next window in {wait:.0f} s",
                    retry_after_s=wait,
                )
            logger.info("Binance request budget nearly used; waiting", extra={"wait_s": wait})
            self.sleep(wait)
            waited += wait

    def backoff_remaining(self, account: str | None = None) -> float | None:
        """Seconds until Binance may be called again (IP-wide, or for `account`), or None."""
        now = self.clock()
        names = [self._backoff_key(None)] + ([self._backoff_key(account)] if account else [])
        until = max((f for f in self._read(names) if f is not None), default=0.0)
        return until - now if until > now else None

    def used(self, counter: str, interval: str, account: str | None = None) -> int | None:
        """The highest figure seen for a counter in the current window, or None."""
        limit = Limit(counter, interval.lower(), 0)
        [figure] = self._read([self._counter_key(limit, account, self.clock())])
        return int(figure) if figure is not None else None

    # --- after a call ---------------------------------------------------------------------

    def record(self, headers: Mapping[str, str], account: str | None = None) -> None:
        """Keep the used weight and order counts an answer (success or error) reports."""
        now = self.clock()
        figures: list[tuple[str, float, float]] = []
        urgent = False
        for name, value in headers.items():
            match = _HEADER.match(name)
            if match is None:
                continue
            try:
                used = int(value)
            except ValueError:
                continue
            limit = Limit(match[1].lower(), _interval_of(match[2], match[3]), 0)
            if limit.per_account and account is None:
                continue
            ends = self._window_end(limit, now)
            figures.append((self._counter_key(limit, account, now), used, ends))
            urgent = (
                urgent or used >= self._known_limit(limit) * self.soft_ratio * SHARE_AT_ONCE_FROM
            )
        if not figures:
            return
        if urgent:
            self._raise_to(figures, now)
        else:
            self._remember(figures, now)
            with self._lock:
                self._pending.extend(figures)

    def back_off(
        self, retry_after_s: float | None, *, banned: bool = False, account: str | None = None
    ) -> float | None:
        """Store "no calls until now + retry_after_s" for everyone; returns the seconds stored.

        For the IP (a 429 on weight, or a 418 ban), or only for `account`'s orders (-1015, too
        many new orders, is counted per account). A 418 without a Retry-After is taken as
        Binance's shortest ban; a 429 without one stores nothing, the used weight it reports
        holds the next calls back anyway. An existing longer back-off is never shortened.
        """
        if retry_after_s is None and banned:
            retry_after_s = MIN_BAN_S
        if retry_after_s is None or retry_after_s <= 0:
            return None
        now = self.clock()
        until = now + retry_after_s
        logger.warning(
            "Binance asked us to back off",
            extra={"retry_after_s": retry_after_s, "banned": banned, "per_account": bool(account)},
        )
        self._extend_to(self._backoff_key(account), until, now)
        return retry_after_s

    def observe(
        self,
        headers: Mapping[str, str],
        account: str | None = None,
        *,
        status: int = 200,
        code: int | None = None,
    ) -> None:
        """Take in one of Binance's answers: its counters, and on a 429/418 its Retry-After."""
        self.record(headers, account)
        if status in (418, 429):
            # -1015 (too many new orders) is the account's limit; anything else the IP's.
            self.back_off(
                retry_after_of(headers),
                banned=status == 418,
                account=account if code == _TOO_MANY_ORDERS else None,
            )

    # --- storage: Redis, or this process's own view ------------------------------------------

    def _backoff_key(self, account: str | None) -> str:
        return key("binance", "backoff", account) if account else key("binance", "backoff")

    def _counter_key(self, limit: Limit, account: str | None, now: float) -> str:
        window = str(int(now // limit.window_s))
        if limit.per_account and account:
            return key("binance", limit.counter, account, limit.interval, window)
        return key("binance", limit.counter, limit.interval, window)

    def _known_limit(self, limit: Limit) -> float:
        """The configured limit of a counter a header reports (0: unknown, shared at once)."""
        for known in (self.weight, *self.orders):
            if (known.counter, known.interval) == (limit.counter, limit.interval):
                return known.limit
        return 0

    @staticmethod
    def _window_end(limit: Limit, now: float) -> float:
        return (now // limit.window_s + 1) * limit.window_s + WINDOW_MARGIN_S

    def _read(self, names: list[str]) -> list[float | None]:
        with self._lock:
            pending, self._pending = self._pending, []
        try:
            pipe = self._pipeline()
            written = self._queue_writes(pipe, pending, self.clock())
            for name in names:
                pipe.zscore(name, _MEMBER)
            values = pipe.execute()[written:]
        except RedisError:
            self._redis_failed()
            return [self._local_figure(name) for name in names]
        self._redis_back()
        return [float(value) if value is not None else None for value in values]

    def _queue_writes(
        self, pipe: Pipeline, figures: list[tuple[str, float, float]], now: float
    ) -> int:
        """Queue "raise each counter to at least its figure" on `pipe`; how many commands."""
        commands = 0
        for name, value, ends in figures:
            pipe.zadd(name, {_MEMBER: value}, gt=True)
            commands += 1
            if self._expiring.get(name, 0.0) < ends:
                pipe.expire(name, math.ceil(ends - now) + _KEEP_S)
                self._expiring[name] = ends
                commands += 1
        if len(self._expiring) > 64:
            self._expiring = {k: e for k, e in self._expiring.items() if e > now}
        return commands

    def _raise_to(self, figures: list[tuple[str, float, float]], now: float) -> None:
        """Raise each counter to at least its figure; forgotten after its window (+ a margin)."""
        self._remember(figures, now)
        with self._lock:
            figures = [*self._pending, *figures]
            self._pending = []
        try:
            pipe = self._pipeline()
            self._queue_writes(pipe, figures, now)
            pipe.execute()
        except RedisError:
            self._redis_failed()
        else:
            self._redis_back()

    def _extend_to(self, name: str, until: float, now: float) -> None:
        """Make a back-off last until at least `until`; a longer one already stored wins."""
        self._remember([(name, until, until)], now)
        try:
            pipe = self._pipeline()
            pipe.zadd(name, {_MEMBER: until}, gt=True)
            pipe.zscore(name, _MEMBER)
            _, kept = pipe.execute()
            self._redis().expire(name, math.ceil(max(until, float(kept)) - now) + _KEEP_S)
        except RedisError:
            self._redis_failed()
        else:
            self._redis_back()

    def _remember(self, figures: list[tuple[str, float, float]], now: float) -> None:
        """The per-process view, kept whether Redis works or not (it is read only when not)."""
        with self._lock:
            for name, value, ends in figures:
                old_value, old_ends = self._local.get(name, (value, ends))
                self._local[name] = (max(value, old_value), max(ends, old_ends))
            self._local = {name: f for name, f in self._local.items() if f[1] > now}

    def _local_figure(self, name: str) -> float | None:
        with self._lock:
            figure = self._local.get(name)
        if figure is None or figure[1] <= self.clock():
            return None
        return figure[0]

    def _pipeline(self) -> Pipeline:
        if self._redis_down and time.monotonic() < self._redis_retry_at:
            raise RedisError("skipped: Redis failed moments ago")
        return self._redis().pipeline(transaction=False)

    def _redis_failed(self) -> None:
        self._redis_retry_at = time.monotonic() + REDIS_RETRY_S
        self._expiring = {}  # a write that failed set no expiry: set it again next time
        if not self._redis_down:
            self._redis_down = True
            logger.warning("Redis unavailable; Binance request budget is per process for now")

    def _redis_back(self) -> None:
        if self._redis_down:
            self._redis_down = False
            logger.info("Redis available again; Binance request budget is shared again")


@cache
def request_budget() -> RequestBudget:
    """The request budget of this execution environment, with the configured limits."""
    settings = get_settings()
    return RequestBudget(
        weight_limit=settings.binance_weight_limit,
        order_limit_10s=settings.binance_order_limit_10s,
        order_limit_1d=settings.binance_order_limit_1d,
        soft_ratio=settings.binance_soft_limit_ratio,
        max_wait_s=settings.binance_max_wait_s,
    )
