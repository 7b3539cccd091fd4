"""Recording security events in the caller's transaction, and listing a user's."""

from __future__ import annotations

from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from tradebot.audit.context import current_origin
from tradebot.audit.schemas import EVENT_TYPES, EventType, SecurityEventPublic
from tradebot.db.models import SecurityEvent
from tradebot.pagination import Page, newest_first_after, newest_first_page

# Column sizes (models.SecurityEvent): longer values are cut, never refused.
USER_AGENT_LENGTH = 256
DETAIL_LENGTH = 200


def record_event(
    session: Session, user_id: str, type: EventType, detail: str | None = None
) -> None:
    """Add a security event to the caller's transaction, so it commits with what it records.

    The address, user agent and request id are the current request's (none outside one).
    `detail` is shown to the user: build it from what the API shows anyway, never a secret.
    """
    if type not in EVENT_TYPES:  # a typo would otherwise land in the table for good
        raise ValueError(f"unknown security event type {type!r}")
    origin = current_origin()
    session.add(
        SecurityEvent(
            user_id=user_id,
            type=type,
            ip=origin.ip,
            user_agent=origin.user_agent[:USER_AGENT_LENGTH] if origin.user_agent else None,
            request_id=origin.request_id,
            detail=detail[:DETAIL_LENGTH] if detail else None,
        )
    )


def _list_query(user_id: str, cursor: str | None) -> Select[SecurityEvent]:
    query = select(SecurityEvent).where(SecurityEvent.user_id == user_id)
    if cursor:
        query = query.where(newest_first_after(cursor, SecurityEvent.created_at, SecurityEvent.id))
    # Served by ix_security_events_user_id_created_at (user_id, created_at DESC, id DESC).
    return query.order_by(SecurityEvent.created_at.desc(), SecurityEvent.id.desc())


def list_events(
    session: Session, user_id: str, *, limit: int, cursor: str | None = None
) -> Page[SecurityEventPublic]:
    """The user's security events, newest first, one page at a time."""
    rows = list(session.scalars(_list_query(user_id, cursor).limit(limit + 1)))
    rows, next_cursor = newest_first_page(rows, limit)
    items = [SecurityEventPublic.model_validate(row, from_attributes=True) for row in rows]
    return Page[SecurityEventPublic](items=items, next_cursor=next_cursor)
