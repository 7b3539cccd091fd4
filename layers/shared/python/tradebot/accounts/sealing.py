"""Exchange keys sealed to their owner: each value is bound to (user id, credential id, purpose).

A key and secret copied from user A's row into user B's (or onto a new credential of A's) no
longer open: reading them raises `KeyNotBound`, the credential is marked invalid (so it is not
tried again until a key is stored anew) and a `key_invalidated` event names the reason. Nothing
about the key, the ciphertext or the context's values beyond the ids is logged or returned.

Legacy Fernet tokens (written before v2) still decrypt, with one check of their own: the key
must match the row's plaintext hint. They are unbound until `make rotate` (or the rotate_keys
function) re-seals them.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Literal

from pydantic import SecretStr
from sqlalchemy import update
from sqlalchemy.orm import Session

from tradebot.audit.events import record_event
from tradebot.crypto.envelope import SealBroken, is_sealed, seal, unseal
from tradebot.crypto.vault import get_vault
from tradebot.db.engine import unit_of_work
from tradebot.db.models import ApiCredential, utcnow
from tradebot.errors import InvalidApiKey

logger = logging.getLogger(__name__)

Purpose = Literal["api_key", "api_secret"]

NOT_BOUND = (
    "The stored API key failed its integrity check: it was not sealed for this account and "
    "key. It was marked invalid and will not be used; store your key again."
)


class KeyNotBound(InvalidApiKey):
    """A stored key does not open for its row's owner and credential (copied, or tampered)."""

    def __init__(self, user_id: str, credential_id: str) -> None:
        super().__init__(NOT_BOUND)
        self.user_id = user_id
        self.credential_id = credential_id


def credential_context(user_id: str, credential_id: str, purpose: Purpose) -> dict[str, str]:
    """What a stored key value is bound to (the KMS EncryptionContext and the AES-GCM AAD)."""
    return {"user_id": user_id, "credential_id": credential_id, "purpose": purpose}


def seal_value(user_id: str, credential_id: str, purpose: Purpose, plaintext: str) -> str:
    """One key value sealed to its owner, credential and purpose."""
    return seal(plaintext, credential_context(user_id, credential_id, purpose))


def open_value(
    token: str, user_id: str, credential_id: str, purpose: Purpose, hint: str | None = None
) -> SecretStr:
    """The plaintext of a stored key value; `KeyNotBound` when it is not this owner's.

    `hint`: the row's masked key, which a legacy Fernet `api_key` must match.
    """
    if is_sealed(token):
        try:
            return unseal(token, credential_context(user_id, credential_id, purpose))
        except SealBroken:
            raise KeyNotBound(user_id, credential_id) from None
    # Imported here: the service imports this module (it seals what it stores).
    from tradebot.accounts.service import mask

    plaintext = get_vault().decrypt(token)
    if hint is not None and purpose == "api_key" and mask(plaintext.get_secret_value()) != hint:
        raise KeyNotBound(user_id, credential_id)
    return plaintext


def invalidate_unbound(session: Session, error: KeyNotBound) -> None:
    """Mark the credential invalid (once), record why, and log it without any secret."""
    logger.warning(
        "a stored API key failed its binding check and was marked invalid",
        extra={"user_id": error.user_id, "credential_id": error.credential_id},
    )
    invalidated = session.execute(
        update(ApiCredential)
        .where(
            ApiCredential.id == error.credential_id,
            ApiCredential.user_id == error.user_id,
            ApiCredential.invalidated_at.is_(None),
        )
        .values(invalidated_at=utcnow(), invalid_reason=NOT_BOUND[:500])
        .execution_options(synchronize_session=False)
    )
    if invalidated.rowcount == 1:  # type: ignore[attr-defined]
        record_event(session, error.user_id, "key_invalidated", detail=NOT_BOUND)


@contextmanager
def keys_checked() -> Iterator[None]:
    """Around a unit of work that decrypts the user's key and fails when it does not open (an
    API request): once that work has rolled back, the credential is marked invalid in a
    transaction of its own, and the error goes on to the client (400 Invalid API key)."""
    try:
        yield
    except KeyNotBound as error:
        with unit_of_work() as session:
            invalidate_unbound(session, error)
        raise
