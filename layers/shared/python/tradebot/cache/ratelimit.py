"""Rate limiting in Redis, per user (or per source address before login): GCRA.

The generic cell rate algorithm keeps one number per caller and bucket, the caller's theoretical
arrival time (TAT): when the next request would be due if the caller went exactly at the rate.
`limit` requests per `window_s` become one request every `window_s / limit` seconds, with a
burst of `limit`: an idle caller may send `limit` at once, then is paced. Unlike a fixed window,
no caller gets twice the limit across a window's edge, and the answer says exactly when to retry.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable
from typing import TYPE_CHECKING

from redis.exceptions import RedisError

from tradebot.cache.client import get_redis, key
from tradebot.errors import RateLimitedError

if TYPE_CHECKING:
    from redis.commands.core import Script

logger = logging.getLogger(__name__)

Clock = Callable[[], float]

# Times in integer microseconds, so the burst arithmetic is exact in Lua's doubles (2^53 us is
# 285 years). The caller's clock, not Redis's: Lambda hosts keep theirs synchronised to the ms.
# KEYS[1] the caller's TAT; ARGV: now, emission interval, burst. Returns {allowed, retry_ms}.
_GCRA = """
local now = tonumber(ARGV[1])
local interval = tonumber(ARGV[2])
local burst = tonumber(ARGV[3])
local tat = tonumber(redis.call('GET', KEYS[1])) or now
if tat < now then tat = now end
local ahead = tat + interval - now
local tolerance = interval * burst
if ahead > tolerance then
  return {0, math.ceil((ahead - tolerance) / 1000)}
end
redis.call('SET', KEYS[1], string.format('%.0f', now + ahead), 'PX', math.ceil(ahead / 1000))
return {1, 0}
"""


def _gcra() -> Script:
    # Sends EVALSHA, and loads the script on NOSCRIPT. Made per call (a SHA-1 of 500 bytes), so
    # it always belongs to the current client.
    return get_redis().register_script(_GCRA)


def check_rate(
    bucket: str, caller: str, limit: int, window_s: int, clock: Clock = time.time
) -> None:
    """Count one request of `caller` in `bucket`; raise `RateLimitedError` past the rate.

    The rate is `limit` per `window_s` with a burst of `limit`; a refused request is not
    counted. One EVALSHA round trip, atomic. When Redis is down the request is allowed (fail
    open) and a warning is logged: API Gateway's own throttling still caps the total rate.
    """
    interval_us = max(1, round(window_s * 1_000_000 / limit))
    now_us = int(clock() * 1_000_000)
    try:
        allowed, retry_ms = _gcra()(
            keys=[key("rl", bucket, caller)], args=[now_us, interval_us, limit]
        )
    except RedisError:
        logger.warning("rate limiter unavailable; request allowed", extra={"bucket": bucket})
        return
    if not int(allowed):
        raise RateLimitedError(retry_after_s=max(1, math.ceil(int(retry_ms) / 1000)))
