"""Is the session behind an access token still active? Redis remembers, revocation overwrites.

Every authenticated request asks, so the answer is cached in Redis for `session_cache_ttl_s`
under the session's id: the user id while active, a tombstone once revoked. Revoking writes the
tombstone as soon as the revocation commits (`forget_sessions_on_commit`), so the session's
access tokens stop working at once in every execution environment. A reader caches a positive
answer only where nothing is cached yet (SET NX): one that read the row just before the
revocation committed cannot overwrite the tombstone written just after.

Redis down: the database answers every request (one primary-key read) and a tombstone that
could not be written is logged; a positive answer cached before the outage may then outlive a
revocation made during it by at most `session_cache_ttl_s` once Redis is back.

Database down, Redis up, nothing cached: the token is accepted (logged). A revoked session is
tombstoned for as long as any of its access tokens lives, so what is let through is a live
session's; and with the database down only the routes that need none (public market data)
can answer anyway. Both down: 503.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from datetime import datetime

from redis.exceptions import RedisError
from sqlalchemy import event, select
from sqlalchemy.orm import Session

from tradebot.cache.client import get_redis, key
from tradebot.db.engine import unit_of_work
from tradebot.db.models import UserSession, utcnow
from tradebot.errors import NotAuthenticated, ServiceUnavailable
from tradebot.settings import get_settings

logger = logging.getLogger(__name__)

REVOKED = "-"  # the tombstone; a user id is never "-"
REFUSED = "Invalid or expired access token"  # the same words as any other refused token
_PENDING = "tradebot.revoked_sessions"


def _key(session_id: str) -> str:
    return key("session", session_id)


def require_active_session(user_id: str, session_id: str | None) -> None:
    """401 unless `session_id` is an active session of `user_id` (a token without one: 401)."""
    if session_id is None:
        raise NotAuthenticated(REFUSED)
    try:
        cached = get_redis().get(_key(session_id))
    except RedisError:
        logger.warning("cache unavailable; session checked in the database")
        cached = None
        redis_up = False
    else:
        redis_up = True
    if cached is None:
        try:
            cached, ttl = _load(session_id)
        except ServiceUnavailable:
            if not redis_up:
                raise
            # No tombstone in Redis: not revoked within any access token's lifetime.
            logger.warning("database unavailable; session taken as active (no tombstone)")
            return
        if redis_up:
            _remember(session_id, cached, ttl)
    if cached != user_id:
        raise NotAuthenticated(REFUSED)


def _load(session_id: str) -> tuple[str, int]:
    """The owner of an active session, or the tombstone, from the database; and how long
    that answer may be cached (never past the session's expiry)."""
    with unit_of_work() as session:
        row = session.execute(
            select(UserSession.user_id, UserSession.expires_at, UserSession.revoked_at).where(
                UserSession.id == session_id
            )
        ).first()
    ttl = get_settings().session_cache_ttl_s
    if row is None or row.revoked_at is not None or row.expires_at <= utcnow():
        return REVOKED, ttl
    return str(row.user_id), max(1, min(ttl, expiry_seconds(row.expires_at)))


def _remember(session_id: str, value: str, ttl: int) -> None:
    try:
        get_redis().set(_key(session_id), value, ex=ttl, nx=True)
    except RedisError:
        logger.warning("cache unavailable; session answer not stored")


def forget_sessions(session_ids: Iterable[str]) -> None:
    """Tombstone these sessions in Redis: their access tokens are refused from now on."""
    ids = list(session_ids)
    if not ids:
        return
    # Long enough for every access token a session ever issued to expire (plus the cache age).
    settings = get_settings()
    ttl = settings.access_token_ttl_s + settings.session_cache_ttl_s
    try:
        pipe = get_redis().pipeline(transaction=False)
        for session_id in ids:
            pipe.set(_key(session_id), REVOKED, ex=ttl)
        pipe.execute()
    except RedisError:
        logger.error("cache unavailable; revoked sessions not tombstoned", extra={"n": len(ids)})


def forget_sessions_on_commit(session: Session, session_ids: Iterable[str]) -> None:
    """Tombstone these sessions once `session` commits (a rollback revokes nothing)."""
    session.info.setdefault(_PENDING, set()).update(session_ids)


@event.listens_for(Session, "after_commit")
def _tombstone_committed(session: Session) -> None:
    forget_sessions(session.info.pop(_PENDING, set()))


@event.listens_for(Session, "after_rollback")
def _forget_rolled_back(session: Session) -> None:
    session.info.pop(_PENDING, None)


def expiry_seconds(expires_at: datetime) -> int:
    """Whole seconds from now until `expires_at` (0 when past)."""
    return max(0, int((expires_at - utcnow()).total_seconds()))
