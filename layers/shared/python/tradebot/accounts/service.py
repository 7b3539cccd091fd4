"""Store, show (masked) and forget a user's exchange key."""

from __future__ import annotations

from typing import Protocol

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from tradebot.accounts.schemas import ApiKeyCreate, ApiKeyPublic
from tradebot.crypto.vault import ExchangeCredentials, get_vault
from tradebot.db.models import ApiCredential, new_id, utcnow
from tradebot.errors import NotFound


def mask(api_key: str) -> str:
    """First four and last four characters, the rest elided."""
    return f"{api_key[:4]}…{api_key[-4:]}"


def _public(credential: ApiCredential) -> ApiKeyPublic:
    return ApiKeyPublic(
        exchange="binance",
        api_key_hint=credential.api_key_hint,
        testnet=credential.testnet,
        created_at=credential.created_at,
    )


def store_api_key(session: Session, user_id: str, body: ApiKeyCreate) -> ApiKeyPublic:
    """Encrypt and store the key (replacing any earlier one); the user trades live from now."""
    vault = get_vault()
    api_key = body.api_key.get_secret_value()
    credential = session.scalar(
        select(ApiCredential).where(ApiCredential.user_id == user_id).with_for_update()
    )
    if credential is None:
        credential = ApiCredential(user_id=user_id)
        session.add(credential)
    else:
        # A new key is a new credential: orders accepted for the old one are never placed
        # with this one (the executor compares the trade's credential id).
        credential.id = new_id()
    credential.exchange = "binance"
    credential.api_key_encrypted = vault.encrypt(api_key)
    credential.api_secret_encrypted = vault.encrypt(body.api_secret.get_secret_value())
    credential.api_key_hint = mask(api_key)
    credential.testnet = body.testnet
    credential.invalidated_at = credential.invalid_reason = None
    credential.created_at = utcnow()
    session.flush()
    return _public(credential)


def get_api_key(session: Session, user_id: str) -> ApiKeyPublic:
    """The stored key, masked; 404 when none is stored."""
    credential = session.scalar(select(ApiCredential).where(ApiCredential.user_id == user_id))
    if credential is None:
        raise NotFound("No API key is stored")
    return _public(credential)


def delete_api_key(session: Session, user_id: str) -> None:
    """Forget the key; the user is back to paper trading. Idempotent."""
    session.execute(delete(ApiCredential).where(ApiCredential.user_id == user_id))


class StoredKey(Protocol):
    """What a stored key is decrypted from: an `ApiCredential`, or a row with its columns."""

    @property
    def api_key_encrypted(self) -> str | None: ...
    @property
    def api_secret_encrypted(self) -> str | None: ...
    @property
    def testnet(self) -> bool | None: ...


def decrypt_credentials(stored: StoredKey | None) -> ExchangeCredentials | None:
    """The decrypted key, or None when none is stored."""
    if stored is None or stored.api_key_encrypted is None or stored.api_secret_encrypted is None:
        return None
    vault = get_vault()
    return ExchangeCredentials(
        api_key=vault.decrypt(stored.api_key_encrypted),
        api_secret=vault.decrypt(stored.api_secret_encrypted),
        testnet=bool(stored.testnet),
    )


def load_credentials(session: Session, user_id: str) -> ExchangeCredentials | None:
    """Decrypted credentials for the exchange client, or None in paper mode."""
    credential = session.scalar(select(ApiCredential).where(ApiCredential.user_id == user_id))
    return decrypt_credentials(credential)
