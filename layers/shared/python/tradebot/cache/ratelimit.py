"""Fixed-window rate limiting in Redis, per user (or per source address before login), and
counting of failures per subject (failed logins per account)."""

from __future__ import annotations

import hashlib
import logging
import time

from redis.exceptions import RedisError

from tradebot.cache.client import get_redis, key
from tradebot.errors import RateLimitedError

logger = logging.getLogger(__name__)


def check_rate(bucket: str, caller: str, limit: int, window_s: int) -> None:
    """Count one request of `caller` in `bucket`; raise `RateLimitedError` past `limit`.

    One INCR+EXPIRE round trip per request. When Redis is down the request is allowed (fail
    open) and a warning is logged: API Gateway's own throttling still caps the total rate.
    """
    window = int(time.time() // window_s)
    counter = key("rl", bucket, caller, str(window))
    try:
        pipe = get_redis().pipeline(transaction=False)
        pipe.incr(counter)
        pipe.expire(counter, window_s + 1)
        count, _ = pipe.execute()
    except RedisError:
        logger.warning("rate limiter unavailable; request allowed", extra={"bucket": bucket})
        return
    if int(count) > limit:
        retry_after = max(1, int((window + 1) * window_s - time.time()) + 1)
        raise RateLimitedError(retry_after_s=retry_after)


def _failure_counter(bucket: str, subject: str) -> str:
    # Hashed: the subject is an email address, which has no business in a cache key listing.
    return key("fail", bucket, hashlib.sha256(subject.encode()).hexdigest())


def check_failures(bucket: str, subject: str, limit: int) -> None:
    """Raise `RateLimitedError` while `subject` has `limit` failures recorded in `bucket`.

    Checking does not count: attempts refused here never extend the window. Fails open (with a
    warning) when Redis is down, like `check_rate`.
    """
    counter = _failure_counter(bucket, subject)
    try:
        pipe = get_redis().pipeline(transaction=False)
        pipe.get(counter)
        pipe.ttl(counter)
        count, ttl = pipe.execute()
    except RedisError:
        logger.warning("failure counter unavailable; request allowed", extra={"bucket": bucket})
        return
    if count is not None and int(count) >= limit:
        raise RateLimitedError(retry_after_s=max(1, int(ttl)))


def record_failure(bucket: str, subject: str, window_s: int) -> None:
    """Count one failure of `subject`; the window starts at the first and is never extended."""
    counter = _failure_counter(bucket, subject)
    try:
        pipe = get_redis().pipeline(transaction=False)
        pipe.set(counter, 0, ex=window_s, nx=True)
        pipe.incr(counter)
        pipe.execute()
    except RedisError:
        logger.warning("failure counter unavailable; not counted", extra={"bucket": bucket})


def clear_failures(bucket: str, subject: str) -> None:
    """Forget `subject`'s failures (after a success)."""
    try:
        get_redis().delete(_failure_counter(bucket, subject))
    except RedisError:
        logger.warning("failure counter unavailable; not cleared", extra={"bucket": bucket})
