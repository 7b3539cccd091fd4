"""API models of stored exchange keys."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator

KeyType = Literal["hmac", "ed25519"]
KeyStatus = Literal["valid", "invalid"]
# An Ed25519 private key in PKCS#8 PEM is 119 characters; room for line-ending variants and an
# encrypted one (refused, but with a message saying why).
MAX_PEM_CHARS = 1000


class ApiKeyCreate(BaseModel):
    """A Binance key with its HMAC secret or its Ed25519 private key (exactly one); all of it
    write-only."""

    model_config = ConfigDict(extra="forbid")

    api_key: SecretStr = Field(min_length=16, max_length=128)
    api_secret: SecretStr | None = Field(
        default=None, min_length=16, max_length=128, description="An HMAC key's secret"
    )
    private_key: SecretStr | None = Field(
        default=None,
        max_length=MAX_PEM_CHARS,
        description=(
            "An Ed25519 key's private key, PKCS#8 PEM, unencrypted (it is encrypted at rest "
            "here); instead of api_secret"
        ),
    )
    testnet: bool = True

    @field_validator("api_key", "api_secret")
    @classmethod
    def _alphanumeric(cls, value: SecretStr | None) -> SecretStr | None:
        # Binance keys are alphanumeric; the message never repeats the value.
        if value is None:
            return None
        if not value.get_secret_value().isascii() or not value.get_secret_value().isalnum():
            raise ValueError("must contain only letters and digits")
        return value

    @field_validator("private_key")
    @classmethod
    def _ed25519_pem(cls, value: SecretStr | None) -> SecretStr | None:
        if value is None:
            return None
        from tradebot.crypto.ed25519 import normalized_private_key

        return SecretStr(normalized_private_key(value.get_secret_value()))

    @property
    def key_type(self) -> KeyType:
        """Ed25519 when a private key is given, else HMAC."""
        return "ed25519" if self.private_key is not None else "hmac"


class ApiKeyPublic(BaseModel):
    """A stored key as the owner may see it: masked, never the secret or private key."""

    exchange: Literal["binance"]
    api_key_hint: str
    testnet: bool
    created_at: datetime
    key_type: KeyType
    status: KeyStatus = Field(
        description="valid, or invalid once the exchange refused it (store a key anew)"
    )
    invalid_reason: str | None = Field(default=None, description="Why the exchange refused it")
    ip_restricted: bool | None = Field(
        description="Restricted to trusted IPs on Binance; null when not known (testnet)"
    )
    permissions: list[str] = Field(
        description='What the key may do, e.g. ["read", "spot"], as checked when it was stored'
    )
