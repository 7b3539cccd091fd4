"""One typed settings object, read from the environment once per execution environment.

A plain pydantic model filled from `os.environ` the way pydantic-settings would (its import cost
every cold start ~13 ms): each field from the variable of the same name in any case (no prefix),
an empty value taken as given, unknown variables ignored, keyword arguments winning over the
environment, and JSON decoding for fields of a container type unless marked `NoDecode`.
"""

from __future__ import annotations

import json
import os
from collections import deque
from collections.abc import Mapping, Sequence, Set
from dataclasses import is_dataclass
from decimal import Decimal
from functools import cache
from pathlib import Path
from types import UnionType
from typing import Annotated, Any, Literal, Union, get_args, get_origin

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator, model_validator
from pydantic.fields import FieldInfo

Environment = Literal["local", "test", "aws"]

# Values that ship in this repository for local development only. Outside local/test mode they
# are refused, so a deployment can never run on a key that anyone with the source code knows.
DEV_JWT_SECRET = "local-dev-jwt-secret-not-for-production-0000"  # noqa: S105  # nosec B105
DEV_FERNET_KEY = "bG9jYWwtZGV2LWZlcm5ldC1rZXktbm90LWZvci1wcm8="  # urlsafe b64 of 32 bytes
PLACEHOLDERS = frozenset({DEV_JWT_SECRET, DEV_FERNET_KEY, "changeme", "changethis", "secret"})

DEFAULT_DATA_DIR = Path(".data")


class SettingsError(ValueError):
    """A variable of a container-typed field is not JSON (names the field, never the value)."""


class NoDecode:
    """`Annotated` marker: the field's variable reaches its validators as the raw string."""


def environment_values(
    model: type[BaseModel], environ: Mapping[str, str] | None = None
) -> dict[str, Any]:
    """The fields of `model` found in `environ` (default `os.environ`), ready to validate.

    pydantic-settings' rules with env_prefix="" and case_sensitive=False: the variable named
    like the field, in any case; an empty value is a value (env_ignore_empty=False); a field
    whose type is a container (list, dict, set, tuple, model...) takes JSON, unless `NoDecode`.
    """
    source = os.environ if environ is None else environ
    variables = {name.lower(): value for name, value in source.items()}
    values: dict[str, Any] = {}
    for name, field in model.model_fields.items():
        raw = variables.get(name.lower())
        if raw is None:
            continue
        values[name] = _decode(name, field, raw)
    return values


def _decode(name: str, field: FieldInfo, raw: str) -> Any:
    if any(marker is NoDecode or isinstance(marker, NoDecode) for marker in field.metadata):
        return raw
    annotation = field.annotation
    if get_origin(annotation) in (Union, UnionType):
        # `list[str] | None` and the like: JSON if it is JSON, else the string for the others.
        if not any(_is_container(member) for member in get_args(annotation)):
            return raw
        try:
            return json.loads(raw)
        except ValueError:
            return raw
    if not _is_container(annotation):
        return raw
    try:
        return json.loads(raw)
    except ValueError:
        raise SettingsError(
            f'error parsing value for field "{name}" from the environment'
        ) from None


def _is_container(annotation: Any) -> bool:
    origin = get_origin(annotation)
    if origin is Annotated:
        return _is_container(get_args(annotation)[0])
    kind = origin or annotation
    if not isinstance(kind, type) or issubclass(kind, str | bytes):
        return False
    containers = (BaseModel, Mapping, Sequence, Set, tuple, set, frozenset, deque)
    return issubclass(kind, containers) or is_dataclass(kind)


class EnvSettings(BaseModel):
    """A model that fills itself from the environment: `Model(**overrides)` as BaseSettings."""

    # validate_default: as BaseSettings, defaults go through the validators too.
    model_config = ConfigDict(extra="ignore", validate_default=True)

    def __init__(self, /, **values: Any) -> None:
        super().__init__(**{**environment_values(type(self)), **values})


class Settings(EnvSettings):
    """Everything configurable, validated once; secrets are `SecretStr` and never logged."""

    # hide_input_in_errors: a validation error is logged at cold start, and its input holds the
    # secrets (pydantic would print the dict of every variable read, truncated, keys and all).
    model_config = ConfigDict(extra="ignore", validate_default=True, hide_input_in_errors=True)

    app_env: Environment = "local"

    # Storage. Empty DATABASE_URL / REDIS_URL select the embedded defaults (SQLite, fakeredis).
    database_url: str = ""
    db_pool: Literal["single", "null"] = "single"
    # "iam": authenticate to RDS Proxy with a generated IAM token over verified TLS.
    database_auth: Literal["password", "iam"] = "password"
    # TLS to PostgreSQL: "prefer" encrypts when the server offers it, unverified (libpq's and
    # pg8000's default); "verify" requires a verified certificate (always, with IAM); "off".
    database_tls: Literal["prefer", "verify", "off"] = "prefer"
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
    # Comma-separated HMAC keys, newest first (the key ring): tokens are signed with the first
    # and carry its `kid`; any key still listed verifies the tokens it signed.
    jwt_secret: SecretStr = SecretStr(DEV_JWT_SECRET)
    # Comma-separated Fernet keys, newest first: new ciphertexts use the first one.
    fernet_keys: SecretStr = SecretStr(DEV_FERNET_KEY)
    # Stored exchange keys are sealed with data keys from this KMS key (id, ARN or alias);
    # empty: wrapped by a local master key derived from FERNET_KEYS (tradebot.crypto.envelope).
    kms_key_id: str = ""
    # Unwrapped data keys kept per execution environment, so warm trading pays no KMS call.
    data_key_cache_size: int = Field(default=1000, ge=0)
    data_key_cache_ttl_s: float = Field(default=300.0, ge=0)

    # Tokens.
    jwt_issuer: str = "tradebot"
    jwt_audience: str = "tradebot-api"
    access_token_ttl_s: int = Field(default=900, gt=0)
    # Sessions (tradebot.auth.sessions): a login's refresh token lives this long at most,
    # however often it rotates; a rotated-out token presented again within the grace (two tabs
    # refreshing at once) gets an access token instead of ending the session.
    refresh_token_ttl_s: int = Field(default=30 * 86400, gt=0)
    refresh_reuse_grace_s: int = Field(default=10, ge=0)
    # How long Redis remembers that a session is active (revocation overwrites it at once).
    session_cache_ttl_s: int = Field(default=60, gt=0)

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
    # Storing a key asks Binance about it (weight 21 on binance.com) from the IP every user
    # shares: at most this many checks per user in this many seconds, whatever the write limit.
    key_check_limit: int = Field(default=10, gt=0)
    key_check_window_s: int = Field(default=600, gt=0)
    # Failed logins (tradebot.cache.lockout): `login_max_failures` within the window from one
    # address lock that (email, address) pair; `login_email_max_failures` from all addresses
    # lock the email everywhere. Each lockout doubles the last one remembered, up to the cap.
    login_max_failures: int = Field(default=5, gt=0)
    login_email_max_failures: int = Field(default=50, gt=0)
    login_failure_window_s: int = Field(default=900, gt=0)
    login_lockout_s: int = Field(default=60, gt=0)
    login_lockout_max_s: int = Field(default=3600, gt=0)
    login_lockout_memory_s: int = Field(default=86400, gt=0)

    # Risk limits a user has until they set their own (PUT /api/account/limits); notionals are
    # in the quote asset. A stored limit left unset (NULL) follows these.
    default_max_open_orders: int = Field(default=20, ge=1)
    default_max_orders_per_minute: int = Field(default=10, ge=1)
    default_max_order_notional: Decimal = Field(default=Decimal("1000"), gt=0)
    default_max_daily_notional: Decimal = Field(default=Decimal("5000"), gt=0)

    # Workers.
    order_queue_url: str = ""
    # Receives after which a failing order message is given up (the queue's maxReceiveCount):
    # on that last attempt the trade is marked FAILED before the message goes to the DLQ.
    order_max_receives: int = 5
    # How long an executor's claim on a trade excludes others; longer than the executor's
    # timeout, so a claim still inside its lease belongs to a live invocation.
    order_claim_lease_s: int = 120
    pending_sweep_after_s: int = 60
    # The order queue's visibility timeout: how long a received message stays hidden before it
    # is delivered again. With `order_max_receives` it bounds how long a message can be in flight.
    order_visibility_timeout_s: int = 30
    # A live user is synced when the market reached one of their open orders, and at least this
    # often whatever the market did (orders canceled or expired outside the bot); 0: every update.
    live_full_sync_s: int = Field(default=600, ge=0)

    # Market data and exchanges.
    market_data: Literal["simulated", "binance"] = "simulated"
    simulated_market_seed: int = 42
    paper_fee_rate: Decimal = Decimal("0.001")
    # One chart point per symbol this often (GET /api/market/prices/{symbol}/history); a day kept.
    price_history_step_s: int = Field(default=60, ge=1, le=3600)
    # Overrides Binance's REST base URL (tests point it at the local fake): binance.com's, and
    # the spot testnet's too unless `binance_testnet_base_url` overrides that one.
    binance_base_url: str = ""
    binance_testnet_base_url: str = ""
    binance_timeout_s: float = 5.0
    # Sent with every signed request: Binance forwards a request to its matching engine only
    # within this many ms of its timestamp (5000 is Binance's default; 60000 its maximum).
    binance_recv_window_ms: int = 5000
    # Orders whose placement answer was lost (RECONCILING), looked up by the reconciler: absence
    # is certain only from two look-ups this far apart, both after the recvWindow has passed.
    reconcile_confirm_after_s: int = 120
    # Then it gives up (the trade stays RECONCILING, an alarm fires): after this long, or this
    # many look-ups, whichever comes first.
    reconcile_give_up_after_s: int = 24 * 3600
    reconcile_max_checks: int = 2000
    # Trades looked at per run (one run a minute), RECONCILING and fee-pending each.
    reconcile_batch_size: int = 25
    live_balance_ttl_s: int = 10
    # Binance's limits (exchangeInfo rateLimits): request weight per IP a minute, new orders
    # per account. Past `binance_soft_limit_ratio` of one, calls wait for the next window, at
    # most `binance_max_wait_s` seconds in all; beyond that they are refused (retryable).
    binance_weight_limit: int = Field(default=6000, gt=0)
    binance_order_limit_10s: int = Field(default=50, gt=0)
    binance_order_limit_1d: int = Field(default=160_000, gt=0)
    binance_soft_limit_ratio: float = Field(default=0.8, gt=0, le=1)
    binance_max_wait_s: float = Field(default=10.0, ge=0)

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
    def sync_in_flight_s(self) -> int:
        """How long a sync message may be in flight (every receive's visibility timeout): until
        then the updater sends no other sync for the same orders."""
        return self.order_visibility_timeout_s * self.order_max_receives

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
