"""Health: can we reach the database and the cache, and are market prices fresh?"""

from __future__ import annotations

import time
from typing import Literal

from pydantic import BaseModel
from redis.exceptions import RedisError
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from tradebot.cache.client import get_redis, key
from tradebot.db.engine import unit_of_work
from tradebot.errors import ServiceUnavailable

PRICES_UPDATED_AT = ("prices", "updated_at")
STALE_AFTER_S = 180  # three missed one-minute updates


class HealthReport(BaseModel):
    status: Literal["healthy", "degraded"]
    database: Literal["ok", "down"]
    cache: Literal["ok", "down"]
    exchange: Literal["ok", "stale", "unknown"]


def _database_ok() -> bool:
    try:
        with unit_of_work() as session:
            session.execute(text("SELECT 1"))
    except (ServiceUnavailable, SQLAlchemyError):
        return False
    return True


def _market_data(now: float) -> tuple[bool, Literal["ok", "stale", "unknown"]]:
    try:
        raw = get_redis().get(key(*PRICES_UPDATED_AT))
    except RedisError:
        return False, "unknown"
    if raw is None:
        return True, "unknown"
    return True, "ok" if now - float(raw) <= STALE_AFTER_S else "stale"


def check_health(now: float | None = None) -> HealthReport:
    """Probe each dependency; healthy only when all are fine."""
    database = _database_ok()
    cache_ok, exchange = _market_data(now if now is not None else time.time())
    healthy = database and cache_ok and exchange == "ok"
    return HealthReport(
        status="healthy" if healthy else "degraded",
        database="ok" if database else "down",
        cache="ok" if cache_ok else "down",
        exchange=exchange,
    )
