"""Health: can we reach the database and the cache, are market prices fresh, and is Binance
letting us call it (no back-off after a 429/418)?"""

from __future__ import annotations

import math
import time
from typing import Literal

from pydantic import BaseModel
from redis.exceptions import RedisError
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from tradebot.db.engine import unit_of_work
from tradebot.errors import ServiceUnavailable
from tradebot.exchange.weight import request_budget
from tradebot.market.prices import STALE_AFTER_S, last_update
from tradebot.market.prices import UPDATED_AT as PRICES_UPDATED_AT

__all__ = ["PRICES_UPDATED_AT", "STALE_AFTER_S", "HealthReport", "check_health"]


class HealthReport(BaseModel):
    status: Literal["healthy", "degraded"]
    database: Literal["ok", "down"]
    cache: Literal["ok", "down"]
    exchange: Literal["ok", "stale", "unknown"]
    # Seconds until Binance may be called again after a 429/418, or null when it may be now.
    exchange_backoff_s: int | None


def _database_ok() -> bool:
    try:
        with unit_of_work() as session:
            session.execute(text("SELECT 1"))
    except (ServiceUnavailable, SQLAlchemyError):
        return False
    return True


def _market_data(now: float) -> tuple[bool, Literal["ok", "stale", "unknown"]]:
    try:
        updated_at, stale = last_update(now)
    except (RedisError, ValueError):  # down, or a garbled timestamp
        return False, "unknown"
    if updated_at is None:
        return True, "unknown"
    return True, "stale" if stale else "ok"


def check_health(now: float | None = None) -> HealthReport:
    """Probe each dependency; healthy only when all are fine."""
    database = _database_ok()
    cache_ok, exchange = _market_data(now if now is not None else time.time())
    # The back-off is shared through Redis: with Redis down there is none to show.
    backoff = request_budget().backoff_remaining() if cache_ok else None
    healthy = database and cache_ok and exchange == "ok" and backoff is None
    return HealthReport(
        status="healthy" if healthy else "degraded",
        database="ok" if database else "down",
        cache="ok" if cache_ok else "down",
        exchange=exchange,
        exchange_backoff_s=math.ceil(backoff) if backoff is not None else None,
    )
