"""API models of two-factor authentication."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, SecretStr

# Room for a recovery code typed with spaces or dashes; a TOTP code is six digits.
OTP_MAX_LENGTH = 32
OTP_DESCRIPTION = (
    "The current six-digit code of your authenticator app, or one of your unused recovery codes"
)


class TwoFactorEnrolment(BaseModel):
    """A new TOTP secret to add to an authenticator app; shown this once."""

    secret: str = Field(description="The secret in base32, for typing into the app")
    otpauth_uri: str = Field(
        description="The same secret as an otpauth:// URI, for a QR code",
        examples=["otpauth://totp/Tradebot:trader%40example.com?secret=...&issuer=Tradebot"],
    )


class OtpConfirm(BaseModel):
    """The first code from the authenticator app, proving it holds the secret."""

    model_config = ConfigDict(extra="forbid")

    otp: SecretStr = Field(min_length=1, max_length=OTP_MAX_LENGTH, examples=["123456"])


class RecoveryCodes(BaseModel):
    """Single-use codes for when the authenticator app is lost; shown this once."""

    recovery_codes: list[str] = Field(examples=[["ABCD-EFGH-IJKL-MNOP"]])


class TwoFactorDisable(BaseModel):
    """The password, to turn two-factor authentication off (the code goes in X-OTP)."""

    model_config = ConfigDict(extra="forbid")

    password: SecretStr = Field(min_length=1, max_length=128)
