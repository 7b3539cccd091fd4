"""API models of the account side: registration, login, the current user, sessions, password
change and account deletion."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator

from tradebot.twofactor.schemas import OTP_DESCRIPTION, OTP_MAX_LENGTH

# A pragmatic address check (RFC 5321 lengths, one @, a dotted domain); deliverability is the
# confirmation mail's job, not a regex's.
_EMAIL = re.compile(
    r"^[^@\s]{1,64}@[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)+$"
)

TradingMode = Literal["paper", "live"]


class Credentials(BaseModel):
    """Email and password, for registering and for logging in."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=False)

    email: str = Field(
        max_length=254, examples=["trader@example.com"], json_schema_extra={"format": "email"}
    )
    password: str = Field(min_length=1, max_length=128, examples=["correct horse battery"])

    @field_validator("email")
    @classmethod
    def _valid_email(cls, value: str) -> str:
        value = value.strip().lower()
        if not _EMAIL.match(value):
            raise ValueError("is not a valid email address")
        return value


class LoginRequest(Credentials):
    """Email and password and, where two-factor authentication is on, a one-time code."""

    otp: SecretStr | None = Field(
        default=None,
        min_length=1,
        max_length=OTP_MAX_LENGTH,
        description=f"{OTP_DESCRIPTION}; needed where two-factor authentication is on",
        examples=["123456"],
    )


class UserCreated(BaseModel):
    id: str
    email: str


class AccessToken(BaseModel):
    access_token: str
    token_type: Literal["bearer"] = "bearer"  # noqa: S105 - the scheme name
    expires_in: int


class UserPublic(BaseModel):
    id: str
    email: str
    trading_mode: TradingMode
    two_factor: bool = Field(default=False, description="Two-factor authentication is on")


class SessionPublic(BaseModel):
    """One active login of the user; `current` is the session of the calling token."""

    id: str
    created_at: datetime
    last_used_at: datetime
    ip: str | None
    user_agent: str | None
    current: bool


# Passwords in the bodies below are SecretStr: a validation error or a log line never shows them.


class PasswordChange(BaseModel):
    """`PUT /api/account/password`: the current password (step-up) and the new one."""

    model_config = ConfigDict(extra="forbid", hide_input_in_errors=True)

    current_password: SecretStr = Field(min_length=1, max_length=128)
    new_password: SecretStr = Field(min_length=1, max_length=128)


class AccountDeletion(BaseModel):
    """`DELETE /api/account`: the password, to confirm."""

    model_config = ConfigDict(extra="forbid", hide_input_in_errors=True)

    password: SecretStr = Field(min_length=1, max_length=128)
