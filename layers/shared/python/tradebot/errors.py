"""The domain's exception hierarchy; the HTTP layer maps these to problem+json in one place."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True)
class FieldError:
    """One invalid input field and what is wrong with it."""

    field: str
    message: str


class DomainError(Exception):
    """Base of every error this package raises on purpose."""

    status = 400
    title = "Bad request"

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail

    def extensions(self) -> dict[str, object]:
        """Extra members of the problem document (RFC 9457 extensions); none by default."""
        return {}


class InvalidInput(DomainError):
    """The request is well-formed but breaks a rule; names the offending fields."""

    status = 422
    title = "Invalid input"

    def __init__(self, detail: str, errors: list[FieldError] | None = None) -> None:
        super().__init__(detail)
        self.errors = errors or []

    @classmethod
    def on(cls, field_name: str, message: str) -> InvalidInput:
        """A single-field error."""
        return cls(f"{field_name}: {message}", [FieldError(field_name, message)])


class NotAuthenticated(DomainError):
    status = 401
    title = "Not authenticated"


class OtpRequired(NotAuthenticated):
    """Two-factor authentication is on: this call needs a current one-time code (or an unused
    recovery code), and none, or a wrong or used one, came with it."""

    title = "OTP required"


class RefreshRefused(NotAuthenticated):
    """The refresh token is missing, unknown, expired, revoked or reused: log in again (the
    HTTP layer clears the refresh cookie with the 401)."""


class CrossSiteRefused(DomainError):
    """A cookie-authenticated request came from another site (a CSRF attempt)."""

    status = 403
    title = "Cross-site request refused"


class NotFound(DomainError):
    status = 404
    title = "Not found"


class Conflict(DomainError):
    status = 409
    title = "Conflict"


@dataclass(frozen=True)
class OpenOrder:
    """An order that may be open on the exchange, as a refusal names it."""

    id: str
    symbol: str
    status: str


class LiveOrdersOpen(Conflict):
    """The exchange key cannot change while orders placed with it may be open on the exchange."""

    title = "Live orders open"

    def __init__(self, detail: str, open_orders: list[OpenOrder]) -> None:
        super().__init__(detail)
        self.open_orders = open_orders

    def extensions(self) -> dict[str, object]:
        return {
            "open_orders": [
                {"id": o.id, "symbol": o.symbol, "status": o.status} for o in self.open_orders
            ]
        }


class KeyRefused(InvalidInput):
    """The exchange key offered was not stored: the exchange refused it, or it may do more than
    trade (withdraw, transfer) or cannot trade spot. The errors name the field and why."""

    title = "Key refused"


class StoredKeyRefused(Conflict):
    """The stored key was refused by the exchange since it was stored: it is not used again
    until a key is stored anew."""

    title = "Stored key refused"


class LimitExceeded(InvalidInput):
    """The order would break one of the user's risk limits; the field is the limit's name."""

    title = "Limit exceeded"


class TradingPaused(Conflict):
    """The user's kill switch is on: no new orders until they unpause (cancels still work)."""

    title = "Trading paused"


class PayloadTooLarge(DomainError):
    status = 413
    title = "Payload too large"


class RateLimitedError(DomainError):
    """Too many requests from one user or address in the current window."""

    status = 429
    title = "Too many requests"

    def __init__(self, retry_after_s: int, detail: str = "Too many requests; retry later") -> None:
        super().__init__(detail)
        self.retry_after_s = retry_after_s


class OrderRateExceeded(RateLimitedError):
    """More orders in the last minute than the user's `max_orders_per_minute`."""


class ServiceUnavailable(DomainError):
    """A dependency (database, queue) is down; the caller may retry later."""

    status = 503
    title = "Service unavailable"


# --- Exchange errors: retryable (try again, maybe later) versus permanent (never retry). ---


class ExchangeError(DomainError):
    """Any failure talking to an exchange."""

    status = 502
    title = "Exchange error"

    def __init__(self, detail: str, code: int | None = None) -> None:
        super().__init__(detail)
        self.code = code


class RetryableExchangeError(ExchangeError):
    """Timeouts, 5xx, rate limits, clock skew: the same request may succeed later."""

    status = 503
    title = "Exchange unavailable"

    def __init__(
        self, detail: str, code: int | None = None, retry_after_s: float | None = None
    ) -> None:
        super().__init__(detail, code)
        self.retry_after_s = retry_after_s


class OutcomeUnknown(RetryableExchangeError):
    """The request may or may not have reached the exchange (timeout, 5xx, -1006, -1007, a
    connection lost after sending): an order must never be sent again, only looked up."""

    # For a placement: when the request left, on the exchange's clock as best known (its signed
    # `timestamp`); Binance forwards it to the matching engine only within recvWindow of that.
    sent_at: datetime | None = None


class ExchangeRateLimited(RetryableExchangeError):
    """-1003 / HTTP 429 / 418: wait `retry_after_s` before calling again."""


class ClockSkew(RetryableExchangeError):
    """-1021: our timestamp is outside recvWindow; resync the clock and retry."""


class PermanentExchangeError(ExchangeError):
    """The exchange refused for a reason that retrying will not change."""

    status = 422
    title = "Order rejected"


class OrderRejected(PermanentExchangeError):
    """-2010 and similar: the exchange refused the order."""


class FilterFailure(PermanentExchangeError):
    """-1013: the order breaks a symbol filter."""


class InsufficientBalance(PermanentExchangeError):
    """Not enough free balance for the order."""


class InvalidApiKey(PermanentExchangeError):
    """-2014/-2015/-1022: the key, its permissions or its signature are wrong."""

    status = 400
    title = "Invalid API key"


class UnknownOrder(PermanentExchangeError):
    """-2011/-2013: the exchange does not know this order."""

    status = 404
    title = "Unknown order"
