"""The route table: every API route declared once.

The per-route Lambdas, the local server, the OpenAPI document, the sample events, the CDK stack
and the tests all read this table, so a route cannot exist in one place and be missing in
another. What a function needs (the exchange, the order queue, the exchange keys, memory) is
declared on its entry too: the IAM grants and sizes are derived from it (README, "Adding a
route").
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Method = Literal["GET", "POST", "PUT", "PATCH", "DELETE"]
# "exempt": never counted against a per-user limit (the way out of trouble must stay open);
# API Gateway's per-method stage limit still caps the route as a whole.
Throttle = Literal["read", "write", "auth", "exempt"]


# Memory is also CPU on Lambda: Argon2id hashing is CPU-bound, so the routes that check or set a
# password get twice the default (512 MB, the deployment's `routeMemoryMb`) and answer sooner.
PASSWORD_HASHING_MB = 1024


@dataclass(frozen=True, kw_only=True)
class Needs:
    """What a function uses beyond the database and the cache, declared on its table entry.

    The CDK stack derives from it the timeouts, memory, IAM grants and environment; the local
    server its threading; the OpenAPI document the 502. A need that is not declared here is a
    permission the function lacks in AWS.
    """

    # May wait on Binance: a route gets a 20 s timeout instead of 10 s, a documented 502 and worker
    # threads locally (a worker's timeout follows its trigger).
    calls_exchange: bool = False
    # Sends to the order queue: sqs:SendMessage and ORDER_QUEUE_URL.
    sends_orders: bool = False
    # Opens stored exchange keys (tradebot.accounts.service's decrypt/load/usable_credentials):
    # kms:Decrypt, KMS_KEY_ID, and the app secret (legacy Fernet rows need its keys).
    opens_keys: bool = False
    # Seals new ones: kms:GenerateDataKey, KMS_KEY_ID, and the app secret.
    seals_keys: bool = False
    # None: the deployment's default (the `memoryMb` context still overrides either).
    memory_mb: int | None = None

    @property
    def uses_kms(self) -> bool:
        """Whether the function needs the exchange keys' KMS key (KMS_KEY_ID)."""
        return self.opens_keys or self.seals_keys


@dataclass(frozen=True)
class Route(Needs):
    """One API route and the Lambda (folder under `functions/`) that serves it."""

    function: str
    method: Method
    path: str
    summary: str
    auth: bool = True
    throttle: Throttle = "read"
    status_code: int = 200
    tag: str = "account"
    # Route-specific failures for the OpenAPI document (401/404/413/422/429/503 are derived, and
    # 502 from `calls_exchange`).
    failures: tuple[int, ...] = ()
    # Where the user turned 2FA on, the call (or, for limits, loosening them) needs a one-time
    # code in the X-OTP header (tradebot.auth.stepup).
    step_up: bool = False
    # Signs access tokens without checking one (login, refresh): reads the JWT keys.
    signs_tokens: bool = False

    def __post_init__(self) -> None:
        if 502 in self.failures:
            raise ValueError(f"{self.function}: declare calls_exchange=True instead of a 502")

    @property
    def reads_app_secrets(self) -> bool:
        """Reads the JWT or Fernet keys: checks or signs tokens, or opens or seals keys."""
        return self.auth or self.signs_tokens or self.uses_kms


@dataclass(frozen=True)
class Worker(Needs):
    """A function that is not behind API Gateway."""

    function: str
    # "invoke": run by an operator (aws lambda invoke), never on a schedule.
    trigger: Literal["sqs", "schedule", "deploy", "invoke"]
    summary: str

    @property
    def reads_app_secrets(self) -> bool:
        """Reads the Fernet keys: only to open or seal exchange keys."""
        return self.uses_kms


ROUTES: tuple[Route, ...] = (
    Route("health", "GET", "/health", "Database, cache and exchange status", auth=False, tag="ops"),
    Route("auth_register", "POST", "/api/auth/register", "Create an account",
          auth=False, throttle="auth", status_code=201, tag="auth", failures=(409,),
          memory_mb=PASSWORD_HASHING_MB),
    Route("auth_login", "POST", "/api/auth/login", "Log in for an access token",
          auth=False, throttle="auth", tag="auth", failures=(401,), signs_tokens=True,
          memory_mb=PASSWORD_HASHING_MB),
    Route("auth_me", "GET", "/api/auth/me", "Who am I", tag="auth"),
    # The refresh token is the session's cookie: guessed no faster than a password.
    Route("auth_refresh", "POST", "/api/auth/refresh",
          "A new access token from the refresh cookie, which rotates",
          auth=False, throttle="auth", tag="auth", failures=(401, 403), signs_tokens=True,
          # It hashes no password; 1024 MB as it had with its throttle class (a smaller size
          # is a sizing decision to measure, not part of declaring it).
          memory_mb=PASSWORD_HASHING_MB),
    Route("auth_logout", "POST", "/api/auth/logout", "End this session, clear the cookie",
          throttle="write", status_code=204, tag="auth"),
    Route("sessions_list", "GET", "/api/account/sessions", "My active sessions, newest first"),
    Route("sessions_delete", "DELETE", "/api/account/sessions/{session_id}",
          "End one of my sessions (its access tokens stop working at once)",
          throttle="write", status_code=204),
    # "auth": the current password is guessed no faster than at login.
    Route("password_change", "PUT", "/api/account/password",
          "Change my password (ends every other session)",
          throttle="auth", status_code=204, failures=(401,), step_up=True,
          memory_mb=PASSWORD_HASHING_MB),
    Route("account_delete", "DELETE", "/api/account", "Delete my account and erase my data",
          throttle="auth", status_code=204, failures=(401, 409), step_up=True,
          memory_mb=PASSWORD_HASHING_MB),
    Route("api_keys_put", "PUT", "/api/account/api-keys",
          "Check a Binance key with Binance, then store it encrypted",
          throttle="write", failures=(409,), step_up=True, calls_exchange=True, seals_keys=True),
    Route("api_keys_get", "GET", "/api/account/api-keys", "The stored key, masked",
          failures=(404,)),
    Route("api_keys_delete", "DELETE", "/api/account/api-keys", "Forget the key",
          throttle="write", status_code=204, failures=(409,), step_up=True),
    Route("account_events", "GET", "/api/account/events", "My security events, newest first"),
    Route("limits_get", "GET", "/api/account/limits", "My risk limits and kill switch"),
    # "auth": a request flood on the write class must not lock the kill switch out, and the
    # password that loosening a limit needs is guessed no faster than at login.
    Route("limits_put", "PUT", "/api/account/limits",
          "Change my risk limits or pause trading (loosening needs the password)",
          throttle="auth", failures=(401,), step_up=True, memory_mb=PASSWORD_HASHING_MB),
    Route("twofa_start", "POST", "/api/account/2fa", "Start two-factor enrolment (TOTP)",
          throttle="write", failures=(409,)),
    Route("twofa_confirm", "POST", "/api/account/2fa/confirm",
          "Confirm the enrolment with a code: 2FA is on, here are the recovery codes",
          throttle="write", failures=(409,)),
    # "auth": the password is checked (and guessed no faster than at login).
    Route("twofa_disable", "DELETE", "/api/account/2fa",
          "Turn two-factor authentication off (password and X-OTP)",
          throttle="auth", status_code=204, failures=(413,), step_up=True,
          memory_mb=PASSWORD_HASHING_MB),
    Route("notes_list", "GET", "/api/notes", "My journal, pinned first then newest", tag="notes"),
    Route("notes_create", "POST", "/api/notes", "Write a note",
          throttle="write", status_code=201, tag="notes"),
    Route("notes_get", "GET", "/api/notes/{note_id}", "One note", tag="notes"),
    Route("notes_update", "PATCH", "/api/notes/{note_id}", "Change a note",
          throttle="write", tag="notes"),
    Route("notes_delete", "DELETE", "/api/notes/{note_id}", "Delete a note",
          throttle="write", status_code=204, tag="notes"),
    Route("market_symbols", "GET", "/api/market/symbols", "Tradable symbols and their filters",
          tag="market"),
    Route("market_prices", "GET", "/api/market/prices", "Latest cached prices", tag="market"),
    Route("market_price", "GET", "/api/market/prices/{symbol}", "One symbol's cached price",
          tag="market"),
    Route("market_price_history", "GET", "/api/market/prices/{symbol}/history",
          "A symbol's price points over the last hour or day, for charts", tag="market"),
    Route("trades_create", "POST", "/api/trading/trades", "Place an order",
          throttle="write", status_code=202, tag="trading", failures=(400, 409),
          calls_exchange=True, opens_keys=True, sends_orders=True),
    Route("trades_list", "GET", "/api/trading/trades", "My trades, newest first", tag="trading"),
    Route("trades_get", "GET", "/api/trading/trades/{trade_id}", "One trade", tag="trading"),
    Route("trades_cancel", "DELETE", "/api/trading/trades/{trade_id}", "Cancel an open order",
          throttle="write", status_code=202, tag="trading", failures=(409,), sends_orders=True),
    Route("trades_cancel_all", "POST", "/api/trading/cancel-all", "Cancel every open order",
          throttle="exempt", status_code=202, tag="trading", sends_orders=True),
    Route("dashboard", "GET", "/api/dashboard", "Portfolio and performance", tag="trading",
          failures=(400,), calls_exchange=True, opens_keys=True),
)  # fmt: skip

WORKERS: tuple[Worker, ...] = (
    Worker(
        "order_executor",
        "sqs",
        "Places and cancels queued orders on the user's exchange",
        calls_exchange=True,
        opens_keys=True,
    ),
    # It reads whether a key was refused, never the key.
    Worker(
        "price_updater",
        "schedule",
        "Refreshes cached prices and triggers resting orders",
        calls_exchange=True,
        sends_orders=True,
    ),
    Worker(
        "reconciler",
        "schedule",
        "Looks up orders whose placement answer was lost",
        calls_exchange=True,
        opens_keys=True,
    ),
    Worker("migrate", "deploy", "Applies database migrations"),
    Worker(
        "rotate_keys",
        "invoke",
        "Re-seals stored exchange keys under the current KMS key",
        opens_keys=True,
        seals_keys=True,
    ),
)


def route_named(function: str) -> Route:
    """The route served by `functions/<function>`."""
    for route in ROUTES:
        if route.function == function:
            return route
    raise KeyError(f"no route is served by function {function!r}")
