"""Read-through caching of expensive reads, invalidated by bumping an owner's version."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from typing import Any

from redis.exceptions import RedisError
from sqlalchemy import event
from sqlalchemy.orm import Session

from tradebot.cache.client import get_redis, key

logger = logging.getLogger(__name__)


def _version(namespace: str, owner: str) -> str:
    return get_redis().get(key("ver", namespace, owner)) or "0"  # type: ignore[return-value]


def cached_read(
    namespace: str,
    owner: str,
    params: str,
    loader: Callable[[], Any],
    ttl_s: int = 60,
) -> Any:
    """Return the cached JSON value for (namespace, owner, params), loading it on a miss.

    The key includes the owner's current version, so `invalidate` makes every cached variant
    (each page, each filter) stale at once with one INCR. Redis failures fall back to the loader:
    the cache makes reads faster, never makes them fail.
    """
    try:
        cache_key = key("rt", namespace, owner, _version(namespace, owner), params)
        hit = get_redis().get(cache_key)
    except RedisError:
        logger.warning("cache unavailable; reading through", extra={"namespace": namespace})
        return loader()
    if hit is not None:
        return json.loads(hit)
    value = loader()
    try:
        get_redis().set(cache_key, json.dumps(value), ex=ttl_s)
    except RedisError:
        logger.warning("cache unavailable; value not stored", extra={"namespace": namespace})
    return value


def invalidate(namespace: str, owner: str) -> None:
    """Make every cached read of this owner in this namespace stale."""
    try:
        get_redis().incr(key("ver", namespace, owner))
    except RedisError:
        # Entries expire by TTL; a missed invalidation shows stale data for at most that long.
        logger.warning("cache unavailable; invalidation skipped", extra={"namespace": namespace})


_PENDING = "tradebot.invalidate"


def invalidate_on_commit(session: Session, namespace: str, owner: str) -> None:
    """Invalidate once `session` commits: earlier, a concurrent read could re-cache old rows."""
    session.info.setdefault(_PENDING, set()).add((namespace, owner))


@event.listens_for(Session, "after_commit")
def _invalidate_committed(session: Session) -> None:
    for namespace, owner in session.info.pop(_PENDING, set()):
        invalidate(namespace, owner)


@event.listens_for(Session, "after_rollback")
def _forget_rolled_back(session: Session) -> None:
    session.info.pop(_PENDING, None)
