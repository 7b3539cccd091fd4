"""TOTP codes as authenticator apps make them (RFC 6238: SHA-1, 6 digits, 30-second steps).

Pure functions over a secret and a time: no storage, no clock of their own. Which time step a
code belongs to is returned, so the caller can refuse a step it has already accepted.
"""

from __future__ import annotations

import base64
import hmac
import os
import re

from cryptography.hazmat.primitives.hashes import SHA1
from cryptography.hazmat.primitives.twofactor.totp import TOTP

DIGITS = 6
STEP_S = 30
# Codes of the steps just before and after the current one are accepted too: a phone's clock
# a little off, or a code typed as it changed.
SKEW_STEPS = 1
SECRET_BYTES = 20  # 160 bits, RFC 4226's recommended length
_CODE = re.compile(rf"[0-9]{{{DIGITS}}}")


def new_secret() -> bytes:
    """A fresh random TOTP secret."""
    return os.urandom(SECRET_BYTES)


def encode_secret(secret: bytes) -> str:
    """The secret in base32 without padding, as authenticator apps take it typed in."""
    return base64.b32encode(secret).decode().rstrip("=")


def decode_secret(encoded: str) -> bytes:
    """The secret from its base32 form (as `encode_secret` wrote it)."""
    return base64.b32decode(encoded + "=" * (-len(encoded) % 8))


def _totp(secret: bytes) -> TOTP:
    # HMAC-SHA1 is what RFC 6238 and every authenticator app use; HMAC's security does not
    # rest on SHA-1's collision resistance.
    return TOTP(secret, DIGITS, SHA1(), STEP_S)  # noqa: S303  # nosec B303


def provisioning_uri(secret: bytes, account: str, issuer: str) -> str:
    """The `otpauth://totp/<issuer>:<account>?secret=...&issuer=...` URI for a QR code."""
    return _totp(secret).get_provisioning_uri(account, issuer)


def looks_like_code(candidate: str) -> bool:
    """`candidate` has the shape of a TOTP code (six digits), not of a recovery code."""
    return bool(_CODE.fullmatch(candidate))


def step_at(now: float) -> int:
    """The time step (RFC 6238's T) `now` (Unix seconds) falls in."""
    return int(now) // STEP_S


def code_at(secret: bytes, step: int) -> str:
    """The code of time step `step`."""
    return _totp(secret).generate(step * STEP_S).decode()


def matching_step(secret: bytes, code: str, now: float) -> int | None:
    """The time step within the skew window around `now` whose code is `code`; None if none.

    Every candidate is compared in constant time, and all of them always, so the time taken
    does not say which step (if any) matched.
    """
    if not looks_like_code(code):
        return None
    current = step_at(now)
    found: int | None = None
    for step in range(current - SKEW_STEPS, current + SKEW_STEPS + 1):
        if hmac.compare_digest(code_at(secret, step).encode(), code.encode()) and found is None:
            found = step
    return found
