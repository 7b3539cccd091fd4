"""API models of stored exchange keys."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator


class ApiKeyCreate(BaseModel):
    """A Binance key and secret to store; both are write-only."""

    model_config = ConfigDict(extra="forbid")

    api_key: SecretStr = Field(min_length=16, max_length=128)
    api_secret: SecretStr = Field(min_length=16, max_length=128)
    testnet: bool = True

    @field_validator("api_key", "api_secret")
    @classmethod
    def _alphanumeric(cls, value: SecretStr) -> SecretStr:
        # Binance keys are alphanumeric; the message never repeats the value.
        if not value.get_secret_value().isascii() or not value.get_secret_value().isalnum():
            raise ValueError("must contain only letters and digits")
        return value


class ApiKeyPublic(BaseModel):
    """A stored key as the owner may see it: masked, never the secret."""

    exchange: Literal["binance"]
    api_key_hint: str
    testnet: bool
    created_at: datetime
