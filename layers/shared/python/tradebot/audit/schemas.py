"""API models of security events."""

from __future__ import annotations

from datetime import datetime
from typing import Literal, get_args

from pydantic import BaseModel

# Every type of the API contract; some are recorded by features still being built.
EventType = Literal[
    "login",
    "login_failed",
    "refresh_reuse",
    "logout",
    "session_revoked",
    "password_changed",
    "2fa_enabled",
    "2fa_disabled",
    "key_stored",
    "key_refused",
    "key_deleted",
    "key_invalidated",
    "limits_changed",
    "trading_paused",
    "order_placed",
    "order_canceled",
    "cancel_all",
]
EVENT_TYPES: frozenset[str] = frozenset(get_args(EventType))


class SecurityEventPublic(BaseModel):
    """One security event as the user sees it."""

    id: str
    type: EventType
    created_at: datetime
    ip: str | None
    user_agent: str | None
    detail: str | None
