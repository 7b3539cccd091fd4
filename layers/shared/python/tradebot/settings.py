"""One typed settings object, read from the environment once per execution environment."""

from __future__ import annotations

import json
from decimal import Decimal
from functools import cache
from pathlib import Path
from typing import Annotated, Literal

from pydantic import SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

Environment = Literal["local", "test", "aws"]

# Values that ship in this repository for local development only. Outside local/test mode they
# are refused, so a deployment can never run on a key that anyone with the source code knows.
DEV_JWT_SECRET = "local-dev-jwt-secret-not-for-production-0000"  # noqa: S105  # nosec B105
DEV_FERNET_KEY = "bG9jYWwtZGV2LWZlcm5ldC1rZXktbm90LWZvci1wcm8="  # urlsafe b64 of 32 bytes
PLACEHOLDERS = frozenset({DEV_JWT_SECRET, DEV_FERNET_KEY, "changeme", "changethis", "secret"})

DEFAULT_DATA_DIR = Path(".data")


class Settings(BaseSettings):
    """Everything configurable, validated once; secrets are `SecretStr` and never logged."""

    # hide_input_in_errors: a validation error is logged at cold start, and its input holds the
    # secrets (pydantic would print the whole environment dict, truncated, keys and all).
    model_config = SettingsConfigDict(
        env_prefix="", extra="ignore", case_sensitive=False, hide_input_in_errors=True
    )

    app_env: Environment = "local"

    # Storage. Empty DATABASE_URL / REDIS_URL select the embedded defaults (SQLite, fakeredis).
    database_url: str = ""
    db_pool: Literal["single", "null"] = "single"
    # "iam": authenticate to RDS Proxy with a generated IAM token over verified TLS.
    database_auth: Literal["password", "iam"] = "password"
    # Connections one execution environment may hold: 1 for a route (one request at a time);
    # the executor raises it to run a batch's message groups concurrently.
    db_pool_size: int = 1
    db_connect_timeout_s: float = 5.0
    db_statement_timeout_ms: int = 5000
    redis_url: str = ""
    redis_prefix: str = "tb:"
    redis_timeout_s: float = 0.5

    # Secrets: from Secrets Manager when SECRETS_NAME is set, else from these variables.
    secrets_name: str = ""
    secrets_max_age_s: int = 300
    jwt_secret: SecretStr = SecretStr(DEV_JWT_SECRET)
    # Comma-separated Fernet keys, newest first: new ciphertexts use the first one.
    fernet_keys: SecretStr = SecretStr(DEV_FERNET_KEY)

    # Tokens.
    jwt_issuer: str = "tradebot"
    jwt_audience: str = "tradebot-api"
    access_token_ttl_s: int = 3600

    # HTTP.
    cors_origins: Annotated[list[str], NoDecode] = [
        "http://localhost:3000",
        "http://127.0.0.1:3000",
    ]
    max_body_bytes: int = 64 * 1024
    rate_limits: Annotated[dict[str, int], NoDecode] = {
        "read": 300,
        "write": 60,
        "auth": 10,
    }
    rate_window_s: int = 60
    # Failed logins per account (email), whatever the source address: past the limit, that
    # account's logins are 429 until the window that began with the first failure ends.
    login_max_failures: int = 5
    login_failure_window_s: int = 900

    # Workers.
    order_queue_url: str = ""
    # Receives after which a failing order message is given up (the queue's maxReceiveCount):
    # on that last attempt the trade is marked FAILED before the message goes to the DLQ.
    order_max_receives: int = 5
    # How long an executor's claim on a trade excludes others; longer than the executor's
    # timeout, so a claim still inside its lease belongs to a live invocation.
    order_claim_lease_s: int = 120
    pending_sweep_after_s: int = 60

    # Market data and exchanges.
    market_data: Literal["simulated", "binance"] = "simulated"
    simulated_market_seed: int = 42
    paper_fee_rate: Decimal = Decimal("0.001")
    # Overrides Binance's REST base URL (tests point it at the local fake).
    binance_base_url: str = ""
    binance_timeout_s: float = 5.0
    live_balance_ttl_s: int = 10

    @field_validator("cors_origins", mode="before")
    @classmethod
    def _split_origins(cls, value: object) -> object:
        if isinstance(value, str):
            text = value.strip()
            if text.startswith("["):
                return json.loads(text)
            return [part.strip() for part in text.split(",") if part.strip()]
        return value

    @field_validator("rate_limits", mode="before")
    @classmethod
    def _parse_limits(cls, value: object) -> object:
        if isinstance(value, str):
            return json.loads(value)
        return value

    @model_validator(mode="after")
    def _refuse_placeholders_outside_local(self) -> Settings:
        if self.app_env == "aws" and not self.secrets_name:
            for name in ("jwt_secret", "fernet_keys"):
                secret: SecretStr = getattr(self, name)
                if any(part in PLACEHOLDERS for part in secret.get_secret_value().split(",")):
                    raise ValueError(f"{name} is a development placeholder; set a real secret")
        return self

    @property
    def is_local(self) -> bool:
        """True for the embedded developer stack and the tests."""
        return self.app_env in ("local", "test")

    @property
    def sqlalchemy_url(self) -> str:
        """DATABASE_URL with the pg8000 driver made explicit; SQLite file by default."""
        url = self.database_url
        if not url:
            DEFAULT_DATA_DIR.mkdir(exist_ok=True)
            return f"sqlite:///{DEFAULT_DATA_DIR / 'tradebot.db'}"
        for prefix in ("postgres://", "postgresql://"):
            if url.startswith(prefix):
                return "postgresql+pg8000://" + url[len(prefix) :]
        return url


@cache
def get_settings() -> Settings:
    """The settings of this execution environment, validated on first use."""
    return Settings()
