"""Binance spot through python-binance's sync client; the only place its exceptions are seen.

python-binance and requests are imported inside the methods that need them so that a cold start
of a function that never talks to Binance does not pay for them. What Binance's messages mean
(order statuses and parameters, error codes) is read in exchange/binance_wire.py.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace
from datetime import UTC, datetime
from decimal import Decimal
from functools import partial
from typing import Any, Final, Literal

from pydantic import SecretStr

from tradebot.errors import (
    ClockSkew,
    ExchangeError,
    OutcomeUnknown,
    RetryableExchangeError,
    UnknownOrder,
)
from tradebot.exchange.base import Balance, OrderRequest, OrderResult, PriceRange, SymbolFilters
from tradebot.exchange.binance_keys import KeyReads
from tradebot.exchange.binance_wire import (
    ORDER_DOES_NOT_EXIST,
    api_error,
    candle_range,
    klines_params,
    never_sent,
    order_params,
    order_result,
    signed_timestamp,
)
from tradebot.exchange.clients import ClientPool
from tradebot.exchange.commission import commission_of, trades_up_to
from tradebot.exchange.filters import parse_filters
from tradebot.exchange.weight import RequestBudget, account_of

DEFAULT_TIMEOUT_S: Final = 5.0
DEFAULT_RECV_WINDOW_MS: Final = 5000

# GET /myTrades answers at most 1000 trades a call; an order with more is read page by page.
_TRADES_PAGE: Final = 1000
# GET /allOrders answers at most 1000 orders a call.
_ORDERS_PAGE: Final = 1000

KeyType = Literal["hmac", "ed25519"]


class BinanceExchange(KeyReads):
    """The `Exchange` protocol on Binance spot (or its testnet, or a local fake via `base_url`),
    and what Binance says about the key (`KeyReads`)."""

    def __init__(
        self,
        api_key: str | None = None,
        api_secret: SecretStr | str | None = None,
        *,
        testnet: bool = False,
        base_url: str | None = None,
        timeout_s: float = DEFAULT_TIMEOUT_S,
        recv_window_ms: int = DEFAULT_RECV_WINDOW_MS,
        clients: ClientPool | None = None,
        budget: RequestBudget | None = None,
        key_type: KeyType = "hmac",
    ) -> None:
        """`api_secret` is the HMAC secret, or with `key_type` "ed25519" the private key (PEM)
        python-binance signs with (base64 of the Ed25519 signature of the query string)."""
        self._api_key = api_key
        self._key_type = key_type
        # Kept as SecretStr so that repr(), vars() and any accidental log show only asterisks.
        self.__secret = (
            api_secret if isinstance(api_secret, SecretStr) else SecretStr(api_secret or "")
        )
        self._testnet = testnet
        self._base_url = base_url.rstrip("/") if base_url else None
        self._timeout_s = timeout_s
        self._recv_window_ms = recv_window_ms
        self._client_instance: Any = None
        self._clock_stale = False
        # With a budget, every call waits for (or is refused by) it, and every answer is told.
        self._budget = budget
        self._account = account_of(api_key)
        # With a pool, the client comes from it and goes back to it on close().
        self._clients = clients
        self._pool_key = (
            clients.key(
                api_key,
                self.__secret.get_secret_value(),
                key_type,
                testnet,
                self._base_url,
                timeout_s,
                recv_window_ms,
            )
            if clients is not None
            else b""
        )

    def __repr__(self) -> str:
        key = self._api_key or ""
        hint = f"{key[:4]}…{key[-4:]}" if len(key) > 8 else "…"
        where = self._base_url or ("testnet" if self._testnet else "binance.com")
        return f"BinanceExchange(api_key={hint!r}, endpoint={where!r})"

    # --- plumbing -------------------------------------------------------------------------

    def _client(self) -> Any:
        """The python-binance client, created on first use (no network: ping=False)."""
        if self._client_instance is None and self._clients is not None:
            self._client_instance = self._clients.take(self._pool_key)
        if self._client_instance is None:
            from binance.client import Client

            secret = self.__secret.get_secret_value() or None
            ed25519 = self._key_type == "ed25519"
            client = Client(
                api_key=self._api_key,
                api_secret=None if ed25519 else secret,
                private_key=secret if ed25519 else None,
                requests_params={"timeout": self._timeout_s},
                testnet=self._testnet,
                ping=False,
            )
            # Binance's own default is 5000 ms; python-binance sends 10000, widening replay risk.
            client.REQUEST_RECVWINDOW = self._recv_window_ms
            if self._base_url is not None:
                # _create_api_uri reads these instance attributes, testnet or not, and
                # _create_margin_api_uri reads MARGIN_API_URL (the /sapi wallet endpoints).
                client.API_URL = f"{self._base_url}/api"
                client.API_TESTNET_URL = f"{self._base_url}/api"
                client.MARGIN_API_URL = f"{self._base_url}/sapi"
            self._client_instance = client
        return self._client_instance

    def close(self) -> None:
        """Close the HTTP session (or hand the client back to its pool); the next call opens a
        new one (or takes one from the pool)."""
        client, self._client_instance = self._client_instance, None
        if client is None:
            return
        if self._clients is not None:
            self._clients.give(self._pool_key, client)
        else:
            client.session.close()

    def _call[T](self, operation: str, call: Callable[[Any], T], *, placing: bool = False) -> T:
        """Run `call(client)`, translating every python-binance/requests failure."""
        import requests
        from binance.exceptions import BinanceAPIException, BinanceRequestException

        client = self._client()
        if self._budget is not None:
            self._budget.before_request(self._account, placing=placing)
        # A timeout leaves the previous call's answer on the client; it must not be read again.
        client.response = None
        try:
            result = call(client)
        except BinanceAPIException as exc:
            self._observe(exc.response, exc.status_code, exc.code)
            raise self._translate(exc, operation, placing=placing) from exc
        except (requests.Timeout, requests.ConnectionError) as exc:
            if never_sent(exc):
                # No connection was made: the request cannot have reached Binance.
                raise RetryableExchangeError(f"Binance {operation} could not connect") from exc
            kind = "timed out" if isinstance(exc, requests.Timeout) else "lost its connection"
            detail = f"Binance {operation} {kind}"
            # The request may have reached the matching engine before the connection failed.
            if placing:
                raise self._maybe_placed(detail, None, exc) from exc
            raise RetryableExchangeError(detail) from exc
        except (BinanceRequestException, requests.RequestException) as exc:
            # A 2xx whose body is not the JSON we expect: for an order, it may well be placed.
            self._observe(client.response)
            detail = f"Binance {operation} returned an unreadable response"
            if placing:
                raise self._maybe_placed(detail, None, exc) from exc
            raise RetryableExchangeError(detail) from exc
        self._observe(client.response)
        return result

    def _observe(self, response: Any, status: int | None = 200, code: int | None = None) -> None:
        """Report an answer's used weight, order counts and Retry-After to the budget."""
        if self._budget is not None and response is not None:
            self._budget.observe(response.headers, self._account, status=status or 0, code=code)

    def _maybe_placed(self, detail: str, code: int | None, cause: BaseException) -> OutcomeUnknown:
        """A placement whose outcome is unknown, stamped with when it left (see `sent_at`)."""
        return self._stamp_sent(OutcomeUnknown(detail, code), cause)

    def _stamp_sent(self, error: OutcomeUnknown, cause: BaseException) -> OutcomeUnknown:
        """Set `error.sent_at`: the signed request's timestamp, else now on Binance's clock."""
        error.sent_at = signed_timestamp(cause)
        if error.sent_at is None:
            # Not readable from the request: now, on the exchange's clock, is no earlier.
            offset_ms = getattr(self._client_instance, "timestamp_offset", 0) or 0
            error.sent_at = datetime.fromtimestamp(time.time() + offset_ms / 1000, UTC)
        return error

    def _translate(self, exc: Any, operation: str, *, placing: bool) -> ExchangeError:
        """`api_error`, and what only this client can add: a placement whose outcome is unknown
        stamped with when it left, the clock resynced after a skew."""
        error = api_error(exc, operation, placing=placing)
        if isinstance(error, ClockSkew):
            self._resync_after_skew()
        elif placing and isinstance(error, OutcomeUnknown):
            self._stamp_sent(error, exc)
        return error

    def _resync_after_skew(self) -> None:
        try:
            self.sync_clock()
        except RetryableExchangeError:
            # Could not reach /time right now; the next signed call tries again first.
            self._clock_stale = True

    def _signed[T](self, operation: str, call: Callable[[Any], T], *, placing: bool = False) -> T:
        if self._clock_stale:
            self.sync_clock()
        return self._call(operation, call, placing=placing)

    # --- public API -----------------------------------------------------------------------

    def sync_clock(self) -> None:
        """Align request timestamps with Binance's clock (python-binance's timestamp_offset)."""
        before_ms = time.time() * 1000
        server = self._call("time", lambda client: client.get_server_time())
        after_ms = time.time() * 1000
        # Assume the server read its clock halfway through the round trip.
        offset = int(server["serverTime"]) - int((before_ms + after_ms) / 2)
        self._client().timestamp_offset = offset
        self._clock_stale = False

    def ping(self) -> None:
        """Check that the REST API answers."""
        self._call("ping", lambda client: client.ping())

    def place_order(self, order: OrderRequest) -> OrderResult:
        """Place an order once, tagged with our `client_order_id`; never retries by itself."""
        params = order_params(order)
        data = self._signed(
            "place order", lambda client: client.create_order(**params), placing=True
        )
        try:
            return order_result(data)
        except (ExchangeError, KeyError, ValueError, ArithmeticError) as exc:
            # Binance accepted it (2xx) but the answer cannot be read: placed, state unknown.
            detail = "Binance place order answered in a form that cannot be read"
            raise self._maybe_placed(detail, None, exc) from exc

    def get_order(self, symbol: str, client_order_id: str) -> OrderResult | None:
        """Look an order up by our client id; None when Binance says it does not exist."""
        try:
            data = self._signed(
                "get order",
                lambda client: client.get_order(symbol=symbol, origClientOrderId=client_order_id),
            )
        except UnknownOrder as exc:
            if exc.code == ORDER_DOES_NOT_EXIST:
                return None
            raise
        return order_result(data)

    def open_orders(self, symbol: str | None = None) -> list[OrderResult]:
        """The account's open orders (GET /api/v3/openOrders): of `symbol`, or of every symbol.

        Request weight 6 with a symbol, 80 without: callers choose by how many symbols they need.
        """
        params = {"symbol": symbol} if symbol is not None else {}
        data = self._signed("open orders", lambda client: client.get_open_orders(**params))
        return [order_result(entry) for entry in data]

    def find_order(self, symbol: str, client_order_id: str, since: datetime) -> OrderResult | None:
        """Look an order up in the account's order history (GET /api/v3/allOrders, weight 20).

        Binance's history is read from its database ("Data Source: Database"), not the memory
        GET /order reads first: a second, independent witness of whether an order exists. Pages
        from `since` (startTime), oldest first; None when no order placed since has our id.
        """
        params: dict[str, Any] = {
            "symbol": symbol,
            "startTime": int(since.timestamp() * 1000),
            "limit": _ORDERS_PAGE,
        }
        while True:
            page = self._signed("order history", lambda client: client.get_all_orders(**params))
            for data in page:
                if data.get("clientOrderId") == client_order_id:
                    return order_result(data)
            if len(page) < _ORDERS_PAGE:
                return None
            # Further pages follow by order id (Binance: orderId set -> orders >= that id).
            params.pop("startTime", None)
            params["orderId"] = int(page[-1]["orderId"]) + 1

    def server_time(self) -> datetime:
        """Binance's clock now (GET /api/v3/time, weight 1)."""
        server = self._call("time", lambda client: client.get_server_time())
        return datetime.fromtimestamp(int(server["serverTime"]) / 1000, UTC)

    def with_commission(self, result: OrderResult) -> OrderResult:
        """`result` with its fills' commission, read from the account trade list (GET /myTrades).

        A look-up or cancel answer has no fills. The trade list costs request weight (up to 20),
        so it is read only for an order that has executed and whose fee is not known yet.
        Retryable when the list does not show all of `executed_qty` yet.
        """
        if result.executed_qty == 0 or result.fee_asset is not None:
            return result
        order_id = result.exchange_order_id
        params: dict[str, Any] = {
            "symbol": result.symbol,
            "orderId": int(order_id),
            "limit": _TRADES_PAGE,
        }
        trades: list[Mapping[str, Any]] = []
        while True:
            page = self._signed("trade list", lambda client: client.get_my_trades(**params))
            trades.extend(page)
            fills = trades_up_to(trades, order_id, result.executed_qty)
            if fills is not None:
                return replace(result, fees=commission_of(fills))
            if len(page) < _TRADES_PAGE:
                raise RetryableExchangeError(
                    f"Binance's trade list does not show all fills of order {order_id} yet"
                )
            params["fromId"] = int(page[-1]["id"]) + 1

    def cancel_order(self, symbol: str, client_order_id: str) -> OrderResult:
        """Cancel an open order by our client id."""
        data = self._signed(
            "cancel order",
            lambda client: client.cancel_order(symbol=symbol, origClientOrderId=client_order_id),
        )
        # The cancel response's clientOrderId names the cancel request; ours is origClientOrderId.
        return order_result(
            data, client_order_id=str(data.get("origClientOrderId", client_order_id))
        )

    def balances(self) -> list[Balance]:
        """Non-zero balances of the spot account."""
        account = self._signed("account", lambda client: client.get_account())
        result = []
        for entry in account.get("balances", []):
            free, locked = Decimal(str(entry["free"])), Decimal(str(entry["locked"]))
            if free or locked:
                result.append(Balance(asset=str(entry["asset"]), free=free, locked=locked))
        return result

    def exchange_info_filters(
        self, symbols: Sequence[str] | None = None
    ) -> dict[str, SymbolFilters]:
        """Filters of the tradable symbols (all, or only `symbols`) from live exchangeInfo."""
        if symbols is not None:
            wanted = json.dumps(list(symbols), separators=(",", ":"))
            info = self._call(
                "exchange info",
                lambda client: client._get("exchangeInfo", data={"symbols": wanted}),
            )
        else:
            info = self._call("exchange info", lambda client: client.get_exchange_info())
        return {
            entry["symbol"]: parse_filters(entry)
            for entry in info.get("symbols", [])
            if entry.get("status") == "TRADING"
        }

    def ticker_prices(self, symbols: Sequence[str] | None = None) -> dict[str, Decimal]:
        """Latest prices in ONE request: the given symbols, or every symbol when None."""
        if symbols is not None and not symbols:
            return {}
        if symbols is None:
            tickers = self._call("ticker prices", lambda client: client.get_all_tickers())
        else:
            # ?symbols=["BTCUSDT","ETHUSDT"]: compact JSON, as Binance wants it.
            wanted = json.dumps(list(symbols), separators=(",", ":"))
            tickers = self._call(
                "ticker prices", lambda client: client.get_symbol_ticker(symbols=wanted)
            )
        if isinstance(tickers, dict):  # a single-symbol answer is an object, not a list
            tickers = [tickers]
        return {str(t["symbol"]): Decimal(str(t["price"])) for t in tickers}

    def price_ranges(self, symbols: Sequence[str], since: datetime) -> dict[str, list[PriceRange]]:
        """What each symbol traded at since `since`: its one-minute candles, oldest first, from
        the one `since` falls in (GET /api/v3/klines, weight 2 a symbol; public, no key)."""
        params = klines_params(since, datetime.now(UTC))
        ranges: dict[str, list[PriceRange]] = {}
        for symbol in symbols:
            rows = self._call("klines", partial(_klines, symbol=symbol, **params))
            try:
                ranges[symbol] = [candle_range(row) for row in rows]
            except (IndexError, KeyError, TypeError, ValueError, ArithmeticError) as exc:
                raise RetryableExchangeError(f"Binance klines of {symbol} are unreadable") from exc
        return ranges


def _klines(client: Any, **params: Any) -> Any:
    return client.get_klines(**params)
