"""The Redis client of this execution environment: REDIS_URL, or an embedded fakeredis."""

from __future__ import annotations

from functools import cache
from typing import TYPE_CHECKING

from tradebot.settings import get_settings

if TYPE_CHECKING:
    import fakeredis
    from redis import Redis


@cache
def get_redis() -> Redis:
    """A client with short timeouts, so a sick Redis degrades a request instead of hanging it."""
    settings = get_settings()
    if not settings.redis_url:
        import fakeredis

        # One in-process server shared by every thread of the local stack.
        return fakeredis.FakeRedis(server=_embedded_server(), decode_responses=True)
    from redis import Redis
    from redis.driver_info import DriverInfo
    from redis.maint_notifications import MaintNotificationsConfig

    return Redis.from_url(
        settings.redis_url,
        decode_responses=True,
        socket_timeout=settings.redis_timeout_s,
        socket_connect_timeout=settings.redis_timeout_s,
        health_check_interval=30,
        # A new connection sends only the RESP3 handshake before its first command: no CLIENT
        # SETINFO (two round trips, ~0.7 ms here) and no CLIENT MAINT_NOTIFICATIONS (Redis
        # Enterprise's maintenance events, which ElastiCache does not send), round trips every
        # new connection would wait for, a restored SnapStart copy's first request among them.
        driver_info=DriverInfo(name=None, lib_version=None),
        maint_notifications_config=MaintNotificationsConfig(enabled=False),
    )


@cache
def _embedded_server() -> fakeredis.FakeServer:
    import fakeredis

    return fakeredis.FakeServer()


def key(*parts: str) -> str:
    """A namespaced key, so several deployments or test runs can share one Redis."""
    return get_settings().redis_prefix + ":".join(parts)


def reset_redis() -> None:
    """Forget the client (tests and settings changes)."""
    get_redis.cache_clear()
