"""Two-factor helpers: a user with 2FA on, and the codes their authenticator app would show.

The API runs on the real clock, so a test takes its codes relative to the step it started in
(`base_step`): the enrolment is confirmed one step before it, which leaves the codes of the
base step and the next one fresh, and both stay within the ±1 skew window even if a step ends
while the test runs. More fresh codes than that: the recovery codes.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from tradebot.db.engine import unit_of_work
from tradebot.db.models import SecurityEvent
from tradebot.twofactor import service, totp

from tests.support import FakeTime, Reply, assert_problem, call, register_and_login

PASSWORD = "correct horse battery staple"  # register_and_login's
OTP_REQUIRED = "urn:tradebot:problem:otp-required"


@dataclass
class TwoFactorUser:
    """A registered user with 2FA on."""

    user_id: str
    token: str
    email: str
    secret: bytes
    recovery_codes: list[str]
    base_step: int

    def code(self, offset: int = 0) -> str:
        """The code of the base step plus `offset` (0 and 1 are fresh; each accepted once)."""
        return totp.code_at(self.secret, self.base_step + offset)

    def login(self, otp: str | None = None, *, password: str = PASSWORD) -> Reply:
        """POST /api/auth/login as this user, with `otp` if given."""
        body = {"email": self.email, "password": password}
        return call("auth_login", body=body if otp is None else {**body, "otp": otp})


def start_enrolment(token: str) -> bytes:
    """POST /api/account/2fa; the new secret."""
    reply = call("twofa_start", token=token)
    assert reply.status == 200, reply.raw_body
    return totp.decode_secret(reply.body["secret"])


def with_two_factor(user_id: str, token: str, email: str) -> TwoFactorUser:
    """Turn 2FA on for an existing user: enrolment through the API, confirmed one step ago."""
    secret = start_enrolment(token)
    base = totp.step_at(time.time())
    before = FakeTime((base - 1) * totp.STEP_S + 10)
    with unit_of_work() as session:
        codes = service.confirm_enrolment(
            session, user_id, totp.code_at(secret, base - 1), clock=before
        ).recovery_codes
    return TwoFactorUser(user_id, token, email, secret, codes, base)


def two_factor_user(email: str = "second@example.com") -> TwoFactorUser:
    """A user registered through the API (a real password) with 2FA on."""
    user_id, token = register_and_login(email)
    return with_two_factor(user_id, token, email)


def events_of(user_id: str) -> list[tuple[str, str | None]]:
    """(type, detail) of the user's security events, oldest first; a login's detail without the
    session it opened ("session <id>", tested with the sessions)."""
    with unit_of_work() as session:
        rows = session.execute(
            select(SecurityEvent.type, SecurityEvent.detail)
            .where(SecurityEvent.user_id == user_id)
            .order_by(SecurityEvent.created_at, SecurityEvent.id)
        ).all()
    return [(row.type, _without_session(row.detail)) for row in rows]


def _without_session(detail: str | None) -> str | None:
    if detail is None:
        return None
    return re.sub(r"^session [0-9a-f-]{36} ?", "", detail) or None


def me(token: str) -> dict[str, Any]:
    """GET /api/auth/me."""
    reply = call("auth_me", token=token)
    assert reply.status == 200, reply.raw_body
    body: dict[str, Any] = reply.body
    return body


def otp_required(reply: Reply) -> dict[str, Any]:
    """Assert a 401 `otp-required` problem; return it."""
    problem = assert_problem(reply, 401)
    assert problem["type"] == OTP_REQUIRED
    assert problem["title"] == "OTP required"
    return problem


def current_step() -> int:
    """The current time step of the real clock (the API's)."""
    return totp.step_at(time.time())
