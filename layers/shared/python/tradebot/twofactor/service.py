"""A user's TOTP second factor: enrolment, confirmation, removal, and accepting a code.

A code is accepted once: the time step of the last accepted TOTP code is stored, and a code is
accepted only by a conditional UPDATE that raises it (`last_step < step`), so two requests with
the same code cannot both pass, whatever their timing. A recovery code is used up the same way
(`used_at IS NULL`). The clock is a parameter, for tests to set.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Literal

from sqlalchemy import ColumnElement, delete, exists, select, update
from sqlalchemy.orm import Session

from tradebot.audit.events import record_event
from tradebot.crypto import envelope
from tradebot.db.models import RecoveryCode, TwoFactor, User, utcnow
from tradebot.errors import Conflict, NotAuthenticated
from tradebot.twofactor import recovery, totp
from tradebot.twofactor.schemas import RecoveryCodes, TwoFactorEnrolment

Clock = Callable[[], float]
Factor = Literal["totp", "recovery_code"]
ISSUER = "Tradebot"


# The two places a TOTP secret is encrypted and decrypted: what a change of scheme replaces.
def _context(user_id: str) -> dict[str, str]:
    return {"user_id": user_id, "purpose": "totp"}


def seal_secret(user_id: str, secret: bytes) -> str:
    """The TOTP secret of `user_id`, sealed for storage to that user (a v2 envelope).

    Under the local master key (derived from the app secret) even where KMS seals exchange keys:
    every step-up route opens it, and none of them needs a KMS grant for that.
    """
    plaintext = totp.encode_secret(secret)
    return envelope.seal(plaintext, _context(user_id), envelope.local_master_keys())


def unseal_secret(user_id: str, sealed: str) -> bytes:
    """The TOTP secret of `user_id` from what `seal_secret` stored; `SealBroken` when the
    stored value was sealed to someone else."""
    return totp.decode_secret(envelope.unseal(sealed, _context(user_id)).get_secret_value())


def is_enabled(session: Session, user_id: str) -> bool:
    """Two-factor authentication is on for the user (an unconfirmed enrolment is not)."""
    return bool(
        session.scalar(
            select(exists().where(TwoFactor.user_id == user_id, TwoFactor.enabled_at.is_not(None)))
        )
    )


def start_enrolment(session: Session, user_id: str) -> TwoFactorEnrolment:
    """A new secret for the user to confirm; replaces an unconfirmed one. 409 when 2FA is on."""
    row = session.scalar(select(TwoFactor).where(TwoFactor.user_id == user_id).with_for_update())
    if row is not None and row.enabled_at is not None:
        raise Conflict("Two-factor authentication is already on; turn it off first")
    email = session.scalar(select(User.email).where(User.id == user_id))
    if email is None:
        raise NotAuthenticated("Invalid or expired access token")
    if row is None:
        row = TwoFactor(user_id=user_id)
        session.add(row)
    secret = totp.new_secret()
    row.secret_encrypted = seal_secret(user_id, secret)
    row.last_step = 0
    row.created_at = utcnow()
    session.flush()
    return TwoFactorEnrolment(
        secret=totp.encode_secret(secret),
        otpauth_uri=totp.provisioning_uri(secret, email, ISSUER),
    )


def confirm_enrolment(
    session: Session, user_id: str, code: str, clock: Clock = time.time
) -> RecoveryCodes:
    """Turn 2FA on when `code` is the pending secret's current code; new recovery codes.

    409 without an enrolment or when already on; 401 for a wrong code.
    """
    row = session.scalar(select(TwoFactor).where(TwoFactor.user_id == user_id))
    if row is None:
        raise Conflict("No enrolment to confirm; start one with POST /api/account/2fa")
    if row.enabled_at is not None:
        raise Conflict("Two-factor authentication is already on")
    sealed = row.secret_encrypted
    step = totp.matching_step(unseal_secret(user_id, sealed), code, clock())
    # The secret confirmed is the one read (a concurrent restart would have replaced it), and
    # only one of two concurrent confirmations with the same code turns it on.
    turned_on = step is not None and _raised(
        session,
        TwoFactor.user_id == user_id,
        TwoFactor.enabled_at.is_(None),
        TwoFactor.secret_encrypted == sealed,
        TwoFactor.last_step < step,
        values={"last_step": step, "enabled_at": utcnow()},
    )
    if not turned_on:
        raise NotAuthenticated("The code is wrong; enter the current code of your app")
    codes = _replace_recovery_codes(session, user_id)
    record_event(session, user_id, "2fa_enabled")
    return RecoveryCodes(recovery_codes=codes)


def _replace_recovery_codes(session: Session, user_id: str) -> list[str]:
    session.execute(delete(RecoveryCode).where(RecoveryCode.user_id == user_id))
    codes = recovery.new_codes()
    for code in codes:
        code_hash = recovery.code_hash(user_id, code)
        assert code_hash is not None  # new_codes makes well-formed codes
        session.add(RecoveryCode(user_id=user_id, code_hash=code_hash))
    session.flush()
    return codes


def disable(session: Session, user_id: str) -> None:
    """Turn 2FA off and forget the secret and recovery codes (the caller did the step-up)."""
    was_on = is_enabled(session, user_id)
    session.execute(delete(RecoveryCode).where(RecoveryCode.user_id == user_id))
    session.execute(delete(TwoFactor).where(TwoFactor.user_id == user_id))
    if was_on:
        record_event(session, user_id, "2fa_disabled")


def accept_code(
    session: Session, user_id: str, code: str, clock: Clock = time.time
) -> Factor | None:
    """Use up `code` if it is a TOTP code of a step after the last accepted one (within the
    skew window), or an unused recovery code of the user; which one it was, None if neither.
    """
    if totp.looks_like_code(code):
        sealed = session.scalar(
            select(TwoFactor.secret_encrypted).where(
                TwoFactor.user_id == user_id, TwoFactor.enabled_at.is_not(None)
            )
        )
        if sealed is None:
            return None
        step = totp.matching_step(unseal_secret(user_id, sealed), code, clock())
        if step is not None and _raised(
            session,
            TwoFactor.user_id == user_id,
            TwoFactor.enabled_at.is_not(None),
            TwoFactor.last_step < step,
            values={"last_step": step},
        ):
            return "totp"
        return None
    code_hash = recovery.code_hash(user_id, code)
    if code_hash is not None and _used_up(session, user_id, code_hash):
        return "recovery_code"
    return None


def _raised(session: Session, *conditions: ColumnElement[bool], values: dict[str, object]) -> bool:
    """UPDATE two_factor ... WHERE conditions; whether it changed the row."""
    result = session.execute(
        update(TwoFactor)
        .where(*conditions)
        .values(**values)
        .execution_options(synchronize_session=False)
    )
    return bool(result.rowcount == 1)  # type: ignore[attr-defined]


def _used_up(session: Session, user_id: str, code_hash: str) -> bool:
    result = session.execute(
        update(RecoveryCode)
        .where(
            RecoveryCode.user_id == user_id,
            RecoveryCode.code_hash == code_hash,
            RecoveryCode.used_at.is_(None),
        )
        .values(used_at=utcnow())
        .execution_options(synchronize_session=False)
    )
    return bool(result.rowcount == 1)  # type: ignore[attr-defined]
