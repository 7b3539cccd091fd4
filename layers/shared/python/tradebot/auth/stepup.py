"""Step-up: calls that change what a stolen access token could abuse ask again who is calling.

Where a call needs the password, it must come with it; where the user turned 2FA on, every such
call also needs a current TOTP code or an unused recovery code (the `X-OTP` header), else 401
`otp-required`. A wrong password or code counts as a failed login of the user's email from the
caller's address (tradebot.cache.lockout), so a token does not buy unlimited guesses at either
factor: past the limits the step-up is 429 like the login.
"""

from __future__ import annotations

import time
from typing import Literal

from sqlalchemy import select
from sqlalchemy.orm import Session

from tradebot.audit.context import current_origin
from tradebot.audit.events import record_event
from tradebot.auth.failure_ledger import DatabaseLedger
from tradebot.auth.passwords import verify_password
from tradebot.cache.lockout import LockoutPolicy, check_login, record_login_failure
from tradebot.db.models import User
from tradebot.errors import NotAuthenticated, OtpRequired
from tradebot.settings import get_settings
from tradebot.twofactor import service as two_factor
from tradebot.twofactor.service import Clock

OTP_MISSING = (
    "Two-factor authentication is on: send the current code of your authenticator app "
    "(or an unused recovery code) in the X-OTP header"
)
OTP_WRONG = "The one-time code is wrong or was already used"


def require_step_up(
    session: Session,
    user_id: str,
    *,
    password: str | None = None,
    otp: str | None = None,
    password_required: bool = False,
    clock: Clock = time.time,
) -> None:
    """Return when the caller passes the step-up; 401 (429 while locked out) otherwise.

    `password` is checked when `password_required`; `otp` (the X-OTP header) when 2FA is on,
    and then it is used up: the same code is never accepted twice.
    """
    user = session.execute(select(User.email, User.password_hash).where(User.id == user_id)).first()
    if user is None:
        raise NotAuthenticated("Invalid or expired access token")
    otp_required = two_factor.is_enabled(session, user_id)
    if not password_required and not otp_required:
        return
    address = current_origin().ip or "unknown"
    check_login(user.email, address, DatabaseLedger(session))
    if password_required:
        if password is None:
            raise NotAuthenticated("This change needs your password")
        if not verify_password(user.password_hash, password):
            _failed(session, user_id, user.email, address, "step-up: wrong password")
            raise NotAuthenticated("The password is wrong")
    if not otp_required:
        return
    if otp is None:
        raise OtpRequired(OTP_MISSING)
    if two_factor.accept_code(session, user_id, otp, clock) is None:
        _failed(session, user_id, user.email, address, "step-up: wrong one-time code")
        raise OtpRequired(OTP_WRONG)


def _failed(
    session: Session,
    user_id: str,
    email: str,
    address: str,
    detail: Literal["step-up: wrong password", "step-up: wrong one-time code"],
) -> None:
    """Count the failure against the login lockout and record it, committed before the 401
    rolls the request back (nothing else of the request was written yet that matters)."""
    policy = LockoutPolicy.from_settings(get_settings())
    record_login_failure(email, address, policy, DatabaseLedger(session))
    record_event(session, user_id, "login_failed", detail=detail)
    session.commit()
