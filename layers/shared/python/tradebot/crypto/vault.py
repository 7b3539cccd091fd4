"""Fernet encryption (MultiFernet): how API keys were stored before v2 envelopes
(tradebot.crypto.envelope). Rows written so decrypt until `make rotate` re-seals them."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from typing import Literal

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from pydantic import SecretStr

from tradebot.app_secrets import get_app_secrets


class VaultError(Exception):
    """A token could not be decrypted with any configured key (never carries the token)."""


@dataclass(frozen=True)
class ExchangeCredentials:
    """Decrypted credentials, handed only to the exchange client; repr shows nothing.

    `api_secret` is the HMAC secret, or for an Ed25519 key (`key_type`) its private key (PEM).
    """

    api_key: SecretStr
    api_secret: SecretStr
    testnet: bool
    key_type: Literal["hmac", "ed25519"] = "hmac"


class Vault:
    """Encrypts with the newest key; decrypts with any configured key."""

    def __init__(self, keys: list[str]) -> None:
        if not keys:
            raise ValueError("at least one Fernet key is required")
        self._fernet = MultiFernet([Fernet(k.encode()) for k in keys])

    def __repr__(self) -> str:
        return "Vault(<keys hidden>)"

    def encrypt(self, plaintext: str) -> str:
        """A Fernet token for `plaintext` under the newest key."""
        return self._fernet.encrypt(plaintext.encode()).decode()

    def decrypt(self, token: str) -> SecretStr:
        """The plaintext of `token`, wrapped so it cannot be logged by accident."""
        try:
            return SecretStr(self._fernet.decrypt(token.encode()).decode())
        except InvalidToken as exc:
            raise VaultError(
                "stored credential cannot be decrypted with the configured keys"
            ) from (exc)

    def rotate(self, token: str) -> str:
        """Re-encrypt `token` under the newest key (a no-op in meaning, new ciphertext)."""
        try:
            return self._fernet.rotate(token.encode()).decode()
        except InvalidToken as exc:
            raise VaultError(
                "stored credential cannot be decrypted with the configured keys"
            ) from (exc)


@cache
def _vault_for(keys: tuple[str, ...]) -> Vault:
    return Vault(list(keys))


def get_vault() -> Vault:
    """The vault for the current key set (re-read when the secret rotates)."""
    return _vault_for(tuple(get_app_secrets().fernet_key_list))


def generate_key() -> str:
    """A new Fernet key, for operators adding a key before rotation."""
    return Fernet.generate_key().decode()
