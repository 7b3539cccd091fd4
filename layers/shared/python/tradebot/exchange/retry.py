"""Retrying exchange calls: backoff for retryable errors, and placing an order at most once."""

from __future__ import annotations

import time
from collections.abc import Callable

from tradebot.errors import OrderRejected, OutcomeUnknown, RetryableExchangeError
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


def _is_duplicate(error: OrderRejected) -> bool:
    return "duplicate order" in error.detail.lower()


def place_order_safely(
    exchange: Exchange,
    order: OrderRequest,
    attempts: int = 3,
    sleep: Sleep = time.sleep,
    *,
    base_delay: float = 0.2,
    max_delay: float = DEFAULT_MAX_DELAY_S,
) -> OrderResult:
    """Place `order` at most once on the exchange, retrying what is safe to retry.

    After an unknown outcome (timeout, 5xx, -1007) the order is first looked up by its client
    id; only when the exchange does not know it is it placed again. Errors that say the order
    was certainly not placed (rate limit, clock skew) are retried by placing again.
    """
    outcome_unknown = False
    for attempt in range(1, attempts + 1):
        try:
            if outcome_unknown:
                found = exchange.get_order(order.symbol, order.client_order_id)
                if found is not None:
                    return found
                outcome_unknown = False
            return exchange.place_order(order)
        except OutcomeUnknown as exc:
            outcome_unknown = True
            error: RetryableExchangeError = exc
        except RetryableExchangeError as exc:
            # A failed look-up leaves outcome_unknown set, so the next attempt looks again.
            error = exc
        except OrderRejected as exc:
            # The first attempt did land but was not visible to the look-up yet: Binance refuses
            # a second open order with the same client id, which proves the first one exists.
            if not _is_duplicate(exc):
                raise
            found = exchange.get_order(order.symbol, order.client_order_id)
            if found is None:
                raise
            return found
        delay = retry_delay(error, attempt, base_delay)
        if attempt == attempts or delay > max_delay:
            if outcome_unknown and not isinstance(error, OutcomeUnknown):
                # The look-up failed, not the placement: the caller must still treat the order
                # as possibly placed and reconcile it later, never as failed.
                detail = f"order {order.client_order_id} may exist; look-up failed: {error.detail}"
                raise OutcomeUnknown(detail, error.code) from error
            raise error
        # Waiting before the look-up also gives a just-placed order time to become visible.
        sleep(delay)
    raise ValueError("attempts must be at least 1")
