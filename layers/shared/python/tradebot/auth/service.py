"""Registration, login and the current user."""

from __future__ import annotations

from sqlalchemy import exists, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from tradebot.audit.events import record_event
from tradebot.auth.passwords import (
    dummy_hash,
    hash_password,
    password_problem,
    verify_password,
)
from tradebot.auth.schemas import Credentials, UserCreated, UserPublic
from tradebot.auth.sessions import SignedIn, open_session
from tradebot.cache.lockout import (
    LockoutPolicy,
    check_login,
    clear_login_failures,
    record_login_failure,
)
from tradebot.db.models import ApiCredential, User
from tradebot.errors import Conflict, InvalidInput, NotAuthenticated
from tradebot.settings import get_settings


def register(session: Session, credentials: Credentials) -> UserCreated:
    """Create a user; 409 when the email is taken, 422 when the password is weak."""
    problem = password_problem(credentials.password, credentials.email)
    if problem:
        raise InvalidInput.on("password", problem)
    if session.scalar(select(User.id).where(User.email == credentials.email)):
        raise Conflict("An account with this email already exists")
    user = User(email=credentials.email, password_hash=hash_password(credentials.password))
    session.add(user)
    try:
        session.flush()
    except IntegrityError as exc:  # a concurrent registration won the race
        raise Conflict("An account with this email already exists") from exc
    return UserCreated(id=user.id, email=user.email)


def login(session: Session, credentials: Credentials, address: str) -> SignedIn:
    """A new session (access and refresh token) for valid credentials; one generic 401 otherwise.

    A missing user is verified against a dummy hash, so the response takes the same time
    whether or not the email exists. Failures are counted per (email, address) and per email,
    existing or not: past their limits, that pair (or, past the per-email ceiling, the email
    from every address) is 429 for a lockout that grows with each one (tradebot.cache.lockout);
    a successful login starts the pair's count again. Both outcomes are security events of the
    user (an unknown email records none).
    """
    check_login(credentials.email, address)
    row = session.execute(
        select(User.id, User.password_hash).where(User.email == credentials.email)
    ).first()
    stored_hash = row.password_hash if row else dummy_hash()
    valid = verify_password(stored_hash, credentials.password)
    if row is None or not valid:
        policy = LockoutPolicy.from_settings(get_settings())
        record_login_failure(credentials.email, address, policy)
        if row is not None:
            # The failure is what is recorded: committed here, before the 401 rolls back.
            # An unknown email records nothing (there is no user to show it to).
            record_event(session, row.id, "login_failed")
            session.commit()
        raise NotAuthenticated("Invalid email or password")
    clear_login_failures(credentials.email, address)
    signed_in = open_session(session, row.id)
    record_event(session, row.id, "login", detail=f"session {signed_in.session_id}")
    return signed_in


def current_user(session: Session, user_id: str) -> UserPublic:
    """The user behind a token, with their trading mode (live once a key is stored)."""
    has_key = exists().where(ApiCredential.user_id == User.id)
    row = session.execute(
        select(User.id, User.email, has_key.label("live")).where(User.id == user_id)
    ).first()
    if row is None:
        raise NotAuthenticated("Invalid or expired access token")
    return UserPublic(id=row.id, email=row.email, trading_mode="live" if row.live else "paper")
