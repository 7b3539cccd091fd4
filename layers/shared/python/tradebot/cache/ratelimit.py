"""Fixed-window rate limiting in Redis, per user (or per source address before login)."""

from __future__ import annotations

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
