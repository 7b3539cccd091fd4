"""Retrying exchange calls: backoff for retryable errors, and placing an order at most once."""

from __future__ import annotations

import time
from collections.abc import Callable

from tradebot.errors import ExchangeError, OutcomeUnknown, RetryableExchangeError
from tradebot.exchange.base import Exchange, OrderRequest, OrderResult

Sleep = Callable[[float], None]

# A Lambda invocation should not sleep for minutes; a longer wait (e.g. an IP ban's Retry-After)
# goes back to the caller, whose queue redelivers the message later.
DEFAULT_MAX_DELAY_S = 10.0


def retry_delay(error: RetryableExchangeError, attempt: int, base_delay: float) -> float:
    """Seconds to wait after failed attempt `attempt` (1-based): exponential, or Retry-After."""
    backoff = base_delay * 2.0 ** (attempt - 1)
    if error.retry_after_s is not None:
        return max(error.retry_after_s, backoff)
    return backoff


def with_retries[T](
    fn: Callable[[], T],
    attempts: int = 3,
    base_delay: float = 0.2,
    *,
    sleep: Sleep = time.sleep,
    max_delay: float = DEFAULT_MAX_DELAY_S,
) -> T:
    """Call `fn`, retrying only `RetryableExchangeError`, at most `attempts` calls in all.

    Not for placing orders: a retried timeout could place the order twice. Use
    `place_order_safely` for that.
    """
    for attempt in range(1, attempts + 1):
        try:
            return fn()
        except RetryableExchangeError as exc:
            delay = retry_delay(exc, attempt, base_delay)
            if attempt == attempts or delay > max_delay:
                raise
            sleep(delay)
    raise ValueError("attempts must be at least 1")


def place_order_safely(
    exchange: Exchange,
    order: OrderRequest,
    attempts: int = 3,
    sleep: Sleep = time.sleep,
    *,
    base_delay: float = 0.2,
    max_delay: float = DEFAULT_MAX_DELAY_S,
) -> OrderResult:
    """Place `order` at most once on the exchange, retrying only what certainly did not place it.

    A refusal answered before the order was processed (rate limit, clock skew, no connection) is
    retried by placing again. After a maybe-placed outcome (timeout, 5xx, -1006, -1007, a dropped
    connection, -2010 "Duplicate order sent") the order is NEVER sent again: Binance's client id
    blocks a second order only while the first is open, and a look-up can lag the engine. It is
    looked up once (after the same back-off, so a just-placed order has time to show); if that
    does not find it, `OutcomeUnknown` is raised for the caller to reconcile.
    """
    for attempt in range(1, attempts + 1):
        try:
            return exchange.place_order(order)
        except OutcomeUnknown as exc:
            sleep(min(retry_delay(exc, 1, base_delay), max_delay))
            found = _look_up_once(exchange, order)
            if found is not None:
                return found
            raise
        except RetryableExchangeError as exc:
            delay = retry_delay(exc, attempt, base_delay)
            if attempt == attempts or delay > max_delay:
                raise
            sleep(delay)
    raise ValueError("attempts must be at least 1")


def _look_up_once(exchange: Exchange, order: OrderRequest) -> OrderResult | None:
    """One look-up by client id; None when it finds nothing or fails (a lag is normal)."""
    try:
        return exchange.get_order(order.symbol, order.client_order_id)
    except ExchangeError:
        return None
