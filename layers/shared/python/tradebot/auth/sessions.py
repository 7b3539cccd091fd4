"""Login sessions: rotating refresh tokens with reuse detection, listing and revocation.

A login opens a session and hands out an opaque refresh token (256 random bits, kept only as
its SHA-256). Each refresh rotates it: the token presented is marked rotated and a new one is
issued. A rotated-out token presented again means two parties hold the session's tokens (RFC
9700 section 4.14.2): the whole session is revoked and `refresh_reuse` recorded.

Two tabs refreshing at once send the same cookie: one wins the rotation (a conditional UPDATE,
so exactly one does, also under concurrency), the other presents a token rotated a moment ago.
Within `refresh_reuse_grace_s` of that rotation, and only while its successor is the session's
current token, the loser gets a new access token for the session but no new refresh token: the
browser keeps the cookie the winner set. Any later or older reuse ends the session.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import CursorResult, select, update
from sqlalchemy.orm import Session

from tradebot.audit.context import current_origin
from tradebot.audit.events import USER_AGENT_LENGTH, record_event
from tradebot.auth.active import expiry_seconds, forget_sessions_on_commit
from tradebot.auth.schemas import AccessToken, SessionPublic
from tradebot.auth.tokens import issue_access_token
from tradebot.db.models import RefreshToken, UserSession, utcnow
from tradebot.errors import NotFound, RefreshRefused
from tradebot.pagination import Page, newest_first_after, newest_first_page
from tradebot.settings import get_settings

REFRESH_TOKEN_BYTES = 32
REFRESH_REFUSED = "The refresh token is missing, expired or revoked; log in again"
REUSED = "This refresh token was already used, so its session has been ended; log in again"


@dataclass(frozen=True)
class SignedIn:
    """What a login or a refresh hands the client.

    `refresh_token` goes into the cookie only (None: keep the cookie the client has); it is
    left out of the repr so that no log line or traceback can show it.
    """

    access: AccessToken
    session_id: str
    refresh_token: str | None = field(repr=False)
    refresh_max_age_s: int


def hash_refresh_token(token: str) -> str:
    """The stored form of a refresh token: hex SHA-256 (a 256-bit random token needs no salt)."""
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()


def _new_refresh_token(session: Session, session_id: str, generation: int, now: datetime) -> str:
    token = secrets.token_urlsafe(REFRESH_TOKEN_BYTES)
    session.add(
        RefreshToken(
            token_hash=hash_refresh_token(token),
            session_id=session_id,
            generation=generation,
            created_at=now,
        )
    )
    return token


def _signed_in(user_session: UserSession, refresh_token: str | None) -> SignedIn:
    issued = issue_access_token(user_session.user_id, user_session.id)
    return SignedIn(
        access=AccessToken(access_token=issued.access_token, expires_in=issued.expires_in),
        session_id=user_session.id,
        refresh_token=refresh_token,
        refresh_max_age_s=expiry_seconds(user_session.expires_at),
    )


def _where_from(user_session: UserSession, now: datetime) -> None:
    """Note the session's use now, from the current request's address and user agent."""
    origin = current_origin()
    user_session.last_used_at = now
    if origin.ip is not None:
        user_session.ip = origin.ip
    if origin.user_agent is not None:
        user_session.user_agent = origin.user_agent[:USER_AGENT_LENGTH]


def open_session(session: Session, user_id: str) -> SignedIn:
    """Start a session for `user_id` (a login): its first refresh token and an access token."""
    now = utcnow()
    user_session = UserSession(
        user_id=user_id,
        created_at=now,
        expires_at=now + timedelta(seconds=get_settings().refresh_token_ttl_s),
    )
    _where_from(user_session, now)
    session.add(user_session)
    session.flush()
    return _signed_in(user_session, _new_refresh_token(session, user_session.id, 0, now))


def refresh(session: Session, refresh_token: str | None) -> SignedIn:
    """Rotate `refresh_token` and sign a new access token; `RefreshRefused` (401, the cookie
    cleared) when it is missing, unknown, expired or revoked, or reused (the session ends)."""
    if not refresh_token:
        raise RefreshRefused(REFRESH_REFUSED)
    now = utcnow()
    token_hash = hash_refresh_token(refresh_token)
    found = session.execute(
        select(RefreshToken, UserSession)
        .join(UserSession, UserSession.id == RefreshToken.session_id)
        .where(RefreshToken.token_hash == token_hash)
    ).first()
    if found is None:
        raise RefreshRefused(REFRESH_REFUSED)
    token, user_session = found
    if user_session.revoked_at is not None or user_session.expires_at <= now:
        raise RefreshRefused(REFRESH_REFUSED)
    if token.rotated_at is None:
        rotated = cast(
            CursorResult[Any],
            session.execute(
                update(RefreshToken)
                .where(RefreshToken.token_hash == token_hash, RefreshToken.rotated_at.is_(None))
                .values(rotated_at=now)
                .execution_options(synchronize_session=False)
            ),
        )
        if rotated.rowcount == 1:
            successor = _new_refresh_token(session, user_session.id, token.generation + 1, now)
            _where_from(user_session, now)
            return _signed_in(user_session, successor)
        # A concurrent refresh with the same token won the rotation a moment ago.
        session.refresh(token)
    if _within_grace(session, token, now):
        _where_from(user_session, now)
        return _signed_in(user_session, None)
    _revoke(session, [user_session.id], "refresh_reuse", now)
    record_event(session, user_session.user_id, "refresh_reuse", detail=_named(user_session.id))
    # The revocation is what must last: committed here, before the 401 rolls the request back.
    session.commit()
    raise RefreshRefused(REUSED)


def _within_grace(session: Session, token: RefreshToken, now: datetime) -> bool:
    """A token rotated out within the grace, whose successor is still the current token."""
    grace = timedelta(seconds=get_settings().refresh_reuse_grace_s)
    if token.rotated_at is None or now - token.rotated_at > grace:
        return False
    successor_rotated = session.execute(
        select(RefreshToken.rotated_at).where(
            RefreshToken.session_id == token.session_id,
            RefreshToken.generation == token.generation + 1,
        )
    ).first()
    return successor_rotated is not None and successor_rotated.rotated_at is None


def _named(session_id: str) -> str:
    return f"session {session_id}"


def _revoke(session: Session, session_ids: list[str], reason: str, now: datetime) -> None:
    """Mark these sessions revoked; their access tokens stop working once this commits."""
    if not session_ids:
        return
    session.execute(
        update(UserSession)
        .where(UserSession.id.in_(session_ids), UserSession.revoked_at.is_(None))
        .values(revoked_at=now, revoke_reason=reason)
        .execution_options(synchronize_session=False)
    )
    forget_sessions_on_commit(session, session_ids)


def _active_ids(session: Session, user_id: str, now: datetime) -> list[str]:
    return list(
        session.scalars(
            select(UserSession.id).where(
                UserSession.user_id == user_id,
                UserSession.revoked_at.is_(None),
                UserSession.expires_at > now,
            )
        )
    )


def end_session(session: Session, user_id: str, session_id: str) -> None:
    """Log out: end the caller's own session (`logout` event)."""
    _revoke(session, [session_id], "logout", utcnow())
    record_event(session, user_id, "logout", detail=_named(session_id))


def revoke_session(session: Session, user_id: str, session_id: str) -> None:
    """End one of the user's active sessions; 404 for another user's, an unknown or an ended one."""
    now = utcnow()
    if session_id not in _active_ids(session, user_id, now):
        raise NotFound("No such session")
    _revoke(session, [session_id], "revoked", now)
    record_event(session, user_id, "session_revoked", detail=_named(session_id))


def revoke_other_sessions(session: Session, user_id: str, keep: str | None, reason: str) -> int:
    """End every active session of the user but `keep`; how many were ended."""
    now = utcnow()
    ended = [sid for sid in _active_ids(session, user_id, now) if sid != keep]
    _revoke(session, ended, reason, now)
    return len(ended)


def list_sessions(
    session: Session, user_id: str, current: str | None, *, limit: int, cursor: str | None = None
) -> Page[SessionPublic]:
    """The user's active sessions, newest first, one page at a time."""
    query = select(UserSession).where(
        UserSession.user_id == user_id,
        UserSession.revoked_at.is_(None),
        UserSession.expires_at > utcnow(),
    )
    if cursor:
        query = query.where(newest_first_after(cursor, UserSession.created_at, UserSession.id))
    # Served by ix_sessions_user_id_created_at (user_id, created_at DESC, id DESC).
    query = query.order_by(UserSession.created_at.desc(), UserSession.id.desc())
    rows, next_cursor = newest_first_page(list(session.scalars(query.limit(limit + 1))), limit)
    items = [
        SessionPublic(
            id=row.id,
            created_at=row.created_at,
            last_used_at=row.last_used_at,
            ip=row.ip,
            user_agent=row.user_agent,
            current=row.id == current,
        )
        for row in rows
    ]
    return Page[SessionPublic](items=items, next_cursor=next_cursor)
