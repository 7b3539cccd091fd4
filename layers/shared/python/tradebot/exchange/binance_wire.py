"""Binance's wire format, translated: order statuses, order parameters, error codes, candles.

Pure functions of what Binance sent or is to be sent, used by `BinanceExchange`
(exchange/binance.py). requests and urllib3 are imported only inside `never_sent`, so importing
this module costs a cold start nothing more than the adapter itself.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any, Final
from urllib.parse import parse_qsl

from tradebot.errors import (
    ClockSkew,
    ExchangeError,
    ExchangeRateLimited,
    FilterFailure,
    InsufficientBalance,
    InvalidApiKey,
    InvalidInput,
    OrderRejected,
    OutcomeUnknown,
    PermanentExchangeError,
    RetryableExchangeError,
    UnknownOrder,
)
from tradebot.exchange.base import (
    ExchangeOrderStatus,
    KeyPermissions,
    OrderRequest,
    OrderResult,
    PriceRange,
    SpotAccount,
)
from tradebot.exchange.commission import commission_of
from tradebot.exchange.decimals import format_decimal
from tradebot.exchange.weight import retry_after_of

_INVALID_KEY_CODES: Final = frozenset({-2014, -2015, -1022, -2008})
_UNKNOWN_ORDER_CODES: Final = frozenset({-2011, -2013})
# -1006: unexpected response from the matching engine; -1007: backend timeout. Binance documents
# both as "execution status unknown", so the order may exist.
_OUTCOME_UNKNOWN_CODES: Final = frozenset({-1006, -1007})
# -1003 too much request weight, -1015 too many new orders.
_RATE_LIMIT_CODES: Final = frozenset({-1003, -1015})
ORDER_DOES_NOT_EXIST: Final = -2013
# GET /api/v3/klines answers at most 1000 candles a call.
KLINES_PAGE: Final = 1000
MINUTE_MS: Final = 60_000

_STATUSES: Final[Mapping[str, ExchangeOrderStatus]] = {
    "NEW": "NEW",
    "PENDING_NEW": "NEW",
    "PARTIALLY_FILLED": "PARTIALLY_FILLED",
    "FILLED": "FILLED",
    "CANCELED": "CANCELED",
    "PENDING_CANCEL": "CANCELED",
    "REJECTED": "REJECTED",
    "EXPIRED": "EXPIRED",
    "EXPIRED_IN_MATCH": "EXPIRED",
}


def never_sent(exc: BaseException) -> bool:
    """True when a requests failure happened before a connection existed (refused, DNS, connect
    timeout): nothing was sent. A read timeout or a connection dropped later may have been."""
    import requests
    from urllib3.exceptions import NewConnectionError

    if isinstance(exc, requests.ConnectTimeout):
        return True
    # requests wraps urllib3's MaxRetryError, whose `reason` is the failure of the connection.
    reason = getattr(exc.args[0], "reason", None) if exc.args else None
    return isinstance(reason, NewConnectionError)


def signed_timestamp(exc: BaseException) -> datetime | None:
    """The `timestamp` a failed signed request carried (Binance's clock as we knew it)."""
    request = getattr(exc, "request", None) or getattr(
        getattr(exc, "response", None), "request", None
    )
    body = getattr(request, "body", None)
    if isinstance(body, bytes):
        body = body.decode(errors="replace")
    sent = dict(parse_qsl(body)).get("timestamp") if isinstance(body, str) else None
    return datetime.fromtimestamp(int(sent) / 1000, UTC) if sent and sent.isdigit() else None


def order_result(data: Mapping[str, Any], client_order_id: str | None = None) -> OrderResult:
    """Turn a Binance order (placement, query or cancel response) into an `OrderResult`."""
    status = _STATUSES.get(str(data.get("status")))
    if status is None:
        raise ExchangeError(f"Binance returned an unknown order status {data.get('status')!r}")
    # Only a placement answer (newOrderRespType FULL) lists fills; a look-up or a cancel answer
    # has none, so its fee is unknown (fee_asset None) until `with_commission` reads it.
    fees = commission_of(list(data.get("fills") or []))
    return OrderResult(
        symbol=str(data["symbol"]),
        client_order_id=client_order_id or str(data["clientOrderId"]),
        exchange_order_id=str(data["orderId"]),
        status=status,
        executed_qty=Decimal(str(data.get("executedQty", "0"))),
        # Binance spells it "cummulative"; the correct spelling is accepted in case it ever changes.
        cumulative_quote_qty=Decimal(
            str(data.get("cummulativeQuoteQty", data.get("cumulativeQuoteQty", "0")))
        ),
        fees=fees,
    )


def key_permissions(data: Mapping[str, Any]) -> KeyPermissions:
    """GET /sapi/v1/account/apiRestrictions as `KeyPermissions`; a flag Binance leaves out
    counts as granted where granting it would be a risk, so a missing flag never passes a key."""

    def flag(name: str, missing: bool) -> bool:
        value = data.get(name, missing)
        return value if isinstance(value, bool) else missing

    return KeyPermissions(
        ip_restricted=flag("ipRestrict", False),
        reading=flag("enableReading", False),
        spot_trading=flag("enableSpotAndMarginTrading", False),
        withdrawals=flag("enableWithdrawals", True),
        internal_transfer=flag("enableInternalTransfer", True),
        universal_transfer=flag("permitsUniversalTransfer", True),
        margin=flag("enableMargin", False),
        futures=flag("enableFutures", False),
        options=flag("enableVanillaOptions", False),
        portfolio_margin=flag("enablePortfolioMarginTrading", False),
    )


def spot_account(data: Mapping[str, Any]) -> SpotAccount:
    """GET /api/v3/account's `canTrade` and `permissions` (missing: cannot trade)."""
    permissions = data.get("permissions")
    return SpotAccount(
        can_trade=data.get("canTrade") is True,
        permissions=tuple(str(p) for p in permissions) if isinstance(permissions, list) else (),
    )


def klines_params(since: datetime, now: datetime) -> dict[str, Any]:
    """GET /api/v3/klines parameters for the one-minute candles from `since` up to `now`.

    Binance answers the candles that open at or after startTime, so `since` is rounded down to
    its minute: the candle it falls in is included. At most the last `KLINES_PAGE` minutes.
    """
    now_ms = int(now.timestamp() * 1000)
    oldest = (now_ms // MINUTE_MS - (KLINES_PAGE - 1)) * MINUTE_MS
    start = max(int(since.timestamp() * 1000) // MINUTE_MS * MINUTE_MS, oldest)
    return {
        "interval": "1m",
        "startTime": start,
        "limit": min(max((now_ms - start) // MINUTE_MS + 2, 2), KLINES_PAGE),
    }


def candle_range(row: Sequence[Any]) -> PriceRange:
    """One kline ([open time, open, high, low, close, volume, close time, ...]) as a range."""
    return PriceRange(
        opened_at=datetime.fromtimestamp(int(row[0]) / 1000, UTC),
        closed_at=datetime.fromtimestamp((int(row[6]) + 1) / 1000, UTC),
        low=Decimal(str(row[3])),
        high=Decimal(str(row[2])),
    )


def order_params(order: OrderRequest) -> dict[str, str]:
    """The POST /api/v3/order parameters, every number as a plain decimal string."""
    params = {
        "symbol": order.symbol,
        "side": order.side,
        "type": order.type,
        "newClientOrderId": order.client_order_id,
        "newOrderRespType": "FULL",
    }
    if order.type == "MARKET":
        if order.quote_quantity is not None:
            params["quoteOrderQty"] = format_decimal(order.quote_quantity)
        elif order.quantity is not None:
            params["quantity"] = format_decimal(order.quantity)
        else:
            raise InvalidInput.on("quantity", "a MARKET order needs quantity or quote_quantity")
        return params
    if order.quantity is None:
        raise InvalidInput.on("quantity", f"quantity is required for {order.type} orders")
    if order.price is None:
        raise InvalidInput.on("price", f"price is required for {order.type} orders")
    params["quantity"] = format_decimal(order.quantity)
    params["price"] = format_decimal(order.price)
    params["timeInForce"] = "GTC"
    if order.type == "STOP_LOSS_LIMIT":
        if order.stop_price is None:
            raise InvalidInput.on("stop_price", "stop_price is required for STOP_LOSS_LIMIT")
        params["stopPrice"] = format_decimal(order.stop_price)
    return params


def api_error(  # noqa: PLR0911 - one return per Binance error family reads best
    exc: Any, operation: str, *, placing: bool
) -> ExchangeError:
    """The domain error for a python-binance `BinanceAPIException`.

    A placement whose outcome is unknown comes back as a bare `OutcomeUnknown` (no `sent_at`
    yet), and a -1021 as `ClockSkew`: the adapter stamps the one and resyncs its clock on the
    other, as only it knows its client.
    """
    code = int(exc.code or 0)
    status = int(exc.status_code or 0)
    # A 5xx from a proxy can carry a whole HTML page; the first line or so is enough.
    message = str(exc.message)[:200]
    detail = f"Binance {operation} failed: {message} (code {code}, HTTP {status})"
    if code in _RATE_LIMIT_CODES or status in (418, 429):
        retry_after = retry_after_of(getattr(exc.response, "headers", None) or {})
        return ExchangeRateLimited(detail, code, retry_after)
    if code == -1021:
        return ClockSkew(detail, code)
    if code in _OUTCOME_UNKNOWN_CODES:
        return OutcomeUnknown(detail, code)
    if placing and code == -2010 and "duplicate order" in message.lower():
        # An open order with our client id exists: an earlier attempt did reach Binance.
        return OutcomeUnknown(detail, code)
    if code == -1013:
        return FilterFailure(detail, code)
    if code == -2010:
        if "insufficient balance" in message.lower():
            return InsufficientBalance(detail, code)
        return OrderRejected(detail, code)
    if code in _INVALID_KEY_CODES:
        return InvalidApiKey(detail, code)
    if code in _UNKNOWN_ORDER_CODES:
        return UnknownOrder(detail, code)
    if status >= 500:
        # Binance: a 5XX is "NOT" a failure; "the execution status is UNKNOWN".
        if placing:
            return OutcomeUnknown(detail, code)
        return RetryableExchangeError(detail, code)
    return OrderRejected(detail, code) if placing else PermanentExchangeError(detail, code)
