"""Changing the password: the current one first (step-up), then every other session ends."""

from __future__ import annotations

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from tradebot.audit.events import record_event
from tradebot.auth.passwords import hash_password, password_problem
from tradebot.auth.schemas import PasswordChange
from tradebot.auth.sessions import revoke_other_sessions
from tradebot.auth.stepup import require_step_up
from tradebot.db.models import User, utcnow
from tradebot.errors import InvalidInput, NotAuthenticated


def change_password(
    session: Session,
    user_id: str,
    current_session_id: str | None,
    body: PasswordChange,
    otp: str | None = None,
) -> None:
    """Set a new password: 401 when the current one (or, where 2FA is on, the `otp`) is wrong,
    422 naming `new_password` when the new one is weak. Every other session of the user ends at
    once; the caller's stays."""
    password = body.current_password.get_secret_value()
    require_step_up(session, user_id, password=password, otp=otp, password_required=True)
    email = session.scalar(select(User.email).where(User.id == user_id))
    if email is None:  # deleted meanwhile: its sessions are gone too
        raise NotAuthenticated("Invalid or expired access token")
    new_password = body.new_password.get_secret_value()
    problem = password_problem(new_password, email)
    if problem:
        raise InvalidInput.on("new_password", problem)
    session.execute(
        update(User)
        .where(User.id == user_id)
        .values(password_hash=hash_password(new_password), updated_at=utcnow())
    )
    ended = revoke_other_sessions(
        session, user_id, keep=current_session_id, reason="password_changed"
    )
    record_event(session, user_id, "password_changed", detail=f"{ended} other session(s) ended")
