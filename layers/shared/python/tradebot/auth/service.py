"""Registration, login and the current user."""

from __future__ import annotations

import time

from sqlalchemy import exists, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from tradebot.audit.events import record_event
from tradebot.auth.failure_ledger import DatabaseLedger
from tradebot.auth.passwords import (
    dummy_hash,
    hash_password,
    password_problem,
    verify_password,
)
from tradebot.auth.schemas import Credentials, LoginRequest, UserCreated, UserPublic
from tradebot.auth.sessions import SignedIn, open_session
from tradebot.cache.lockout import (
    LockoutPolicy,
    check_login,
    clear_login_failures,
    record_login_failure,
)
from tradebot.db.models import ApiCredential, TwoFactor, User
from tradebot.errors import Conflict, InvalidInput, NotAuthenticated, OtpRequired
from tradebot.settings import get_settings
from tradebot.twofactor import service as two_factor
from tradebot.twofactor.service import Clock


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


def login(
    session: Session, credentials: LoginRequest, address: str, clock: Clock = time.time
) -> SignedIn:
    """A new session (access and refresh token) for valid credentials; one generic 401 otherwise.

    A missing user is verified against a dummy hash, so the response takes the same time
    whether or not the email exists. Failures are counted per (email, address) and per email,
    existing or not (in Redis; in the database while it is unavailable): past their limits,
    that pair (or, past the per-email ceiling, the email from every address) is 429 for a
    lockout that grows with each one (tradebot.cache.lockout); a successful login starts the
    pair's count again. Both outcomes are security events of the user (an unknown email
    records none).

    Where the user turned 2FA on, the right password alone is a 401 `otp-required` (only then:
    a wrong password never tells whether 2FA is on), and `otp` must be a current code or an
    unused recovery code; a wrong one counts as a failed login like a wrong password.
    """
    ledger = DatabaseLedger(session)
    check_login(credentials.email, address, ledger)
    row = session.execute(
        select(User.id, User.password_hash).where(User.email == credentials.email)
    ).first()
    stored_hash = row.password_hash if row else dummy_hash()
    valid = verify_password(stored_hash, credentials.password)
    if row is None or not valid:
        policy = LockoutPolicy.from_settings(get_settings())
        record_login_failure(credentials.email, address, policy, ledger)
        if row is not None:
            # An unknown email records no event (there is no user to show it to).
            record_event(session, row.id, "login_failed")
        # The failure is what is recorded (and, with Redis down, counted): committed here,
        # before the 401 rolls the request back.
        session.commit()
        raise NotAuthenticated("Invalid email or password")
    second_factor = _second_factor(session, row.id, credentials, address, clock)
    clear_login_failures(credentials.email, address, ledger)
    signed_in = open_session(session, row.id)
    detail = f"session {signed_in.session_id}"
    record_event(
        session, row.id, "login", detail=f"{detail} {second_factor}" if second_factor else detail
    )
    return signed_in


def _second_factor(
    session: Session, user_id: str, credentials: LoginRequest, address: str, clock: Clock
) -> str | None:
    """Check (and use up) the login's one-time code where 2FA is on; the login event's detail."""
    if not two_factor.is_enabled(session, user_id):
        return None
    if credentials.otp is None:
        # Not a guess, but the usual first step of a two-step login form: not counted.
        raise OtpRequired(
            "Two-factor authentication is on: send the current code of your authenticator app "
            "(or an unused recovery code) as otp"
        )
    factor = two_factor.accept_code(session, user_id, credentials.otp.get_secret_value(), clock)
    if factor is None:
        policy = LockoutPolicy.from_settings(get_settings())
        record_login_failure(credentials.email, address, policy, DatabaseLedger(session))
        record_event(session, user_id, "login_failed", detail="wrong one-time code")
        session.commit()
        raise OtpRequired("The one-time code is wrong or was already used")
    return "with a recovery code" if factor == "recovery_code" else None


def current_user(session: Session, user_id: str) -> UserPublic:
    """The user behind a token, with their trading mode (live once a key is stored)."""
    has_key = exists().where(ApiCredential.user_id == User.id)
    has_2fa = exists().where(TwoFactor.user_id == User.id, TwoFactor.enabled_at.is_not(None))
    row = session.execute(
        select(User.id, User.email, has_key.label("live"), has_2fa.label("two_factor")).where(
            User.id == user_id
        )
    ).first()
    if row is None:
        raise NotAuthenticated("Invalid or expired access token")
    return UserPublic(
        id=row.id,
        email=row.email,
        trading_mode="live" if row.live else "paper",
        two_factor=bool(row.two_factor),
    )
