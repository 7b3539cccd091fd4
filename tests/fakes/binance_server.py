"""A local Binance spot REST server for tests: real HTTP, real signatures, real JSON shapes.

The real python-binance client talks to it unchanged, so signing, parameter encoding and error
handling are exercised end to end. Faults are injected per request with `fail_next`.
"""

from __future__ import annotations

import contextlib
import functools
import hmac
import itertools
import json
import re
import sys
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import ROUND_FLOOR, Decimal, InvalidOperation
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from tradebot.exchange.snapshot import load_exchange_info, reference_prices

from tests.fakes.binance_candles import candle, minute_opens
from tests.fakes.binance_keys import ed25519_valid, hmac_valid
from tests.fakes.binance_limits import RateLimits

FAKE_API_KEY = "fake-api-key"
FAKE_API_SECRET = "fake-api-secret"
COMMISSION_RATE = Decimal("0.001")
EIGHT_PLACES = Decimal("0.00000001")

# code -> (HTTP status, Binance's message), for faults and for the checks below.
ERRORS: dict[int, tuple[int, str]] = {
    -1003: (429, "Too much request weight used; current limit is 6000 per 1 MINUTE."),
    -1006: (
        500,
        "An unexpected response was received from the message bus. Execution status unknown.",
    ),
    -1007: (408, "Timeout waiting for response from backend server; execution status unknown."),
    -1013: (400, "Filter failure: LOT_SIZE"),
    -1021: (400, "Timestamp for this request is outside of the recvWindow."),
    -1022: (400, "Signature for this request is not valid."),
    -1102: (400, "Mandatory parameter was not sent, was empty/null, or malformed."),
    -1121: (400, "Invalid symbol."),
    -2008: (401, "Invalid Api-Key ID."),
    -2010: (400, "Account has insufficient balance for requested action."),
    -2011: (400, "Unknown order sent."),
    -2013: (400, "Order does not exist."),
    -2014: (401, "API-key format invalid."),
    -2015: (401, "Invalid API-key, IP, or permissions for action."),
}
API_RESTRICTIONS_PATH = "/sapi/v1/account/apiRestrictions"
SIGNED_PATHS = {
    "/api/v3/order",
    "/api/v3/account",
    "/api/v3/myTrades",
    "/api/v3/openOrders",
    "/api/v3/allOrders",
    API_RESTRICTIONS_PATH,
}
TRADES_PATH = "/api/v3/myTrades"
ALL_ORDERS_PATH = "/api/v3/allOrders"
# Faults whose placement is processed although the client never learns it: "timeout" answers
# after the client gave up, "placed-500" with an HTTP 500, "drop" closes the connection unanswered.
LOST_ANSWER_KINDS = {"timeout", "-1007", "-1006", "placed-500", "drop"}
FAULT_KINDS = (
    {"timeout", "500", "503", "429", "418"} | LOST_ANSWER_KINDS | {str(code) for code in ERRORS}
)


class BinanceError(Exception):
    """An error answer: HTTP status plus Binance's {"code","msg"} body."""

    def __init__(self, code: int, msg: str | None = None, status: int | None = None) -> None:
        default_status, default_msg = ERRORS.get(code, (400, "Error"))
        super().__init__(msg or default_msg)
        self.code, self.msg, self.status = code, msg or default_msg, status or default_status


@dataclass
class Fault:
    kind: str
    path: str | None = None
    msg: str | None = None
    retry_after_s: int = 1


@dataclass
class ReceivedRequest:
    method: str
    path: str
    params: dict[str, str]
    headers: dict[str, str] = field(default_factory=dict)
    testnet: bool = False  # received on the testnet's address (`testnet_base_url`)


def fmt8(value: Decimal) -> str:
    """Binance's fixed eight-decimal strings ("0.00100000")."""
    return str(value.quantize(EIGHT_PLACES))


class _Server(ThreadingHTTPServer):
    # Join handler threads on close so a test never leaks one (daemon threads are not joined).
    daemon_threads = False
    block_on_close = True
    # socketserver's default backlog of 5 overflows when a batch's ten groups connect at once,
    # and the refused client's SYN is retried only after a second.
    request_queue_size = 128

    def handle_error(self, request: Any, client_address: Any) -> None:
        """A client that gave up (our timeout fault) is expected; anything else is printed."""
        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)


class BinanceFake:
    """In-memory Binance spot: symbols from the snapshot, balances, orders by client order id."""

    def __init__(self, api_key: str = FAKE_API_KEY, api_secret: str = FAKE_API_SECRET) -> None:
        self.api_key, self.api_secret = api_key, api_secret
        # More keys it accepts (key -> secret), sharing this one book of balances and orders:
        # a benchmark's traders each sign with their own key, as each would on Binance.
        self.other_keys: dict[str, str] = {}
        # Ed25519 keys: API key -> the public key registered for it (Binance keeps only that).
        self.ed25519_keys: dict[str, Ed25519PublicKey] = {}
        info = load_exchange_info()
        self.symbols: dict[str, dict[str, Any]] = {s["symbol"]: s for s in info["symbols"]}
        self.prices: dict[str, Decimal] = reference_prices()
        self.opening_prices = dict(self.prices)  # each symbol's level before any move below
        # Every price the market moved to (set_price, a fill), with its time: the candles.
        self.price_moves: dict[str, list[tuple[int, Decimal]]] = {}
        self.free: dict[str, Decimal] = {"USDT": Decimal(10000)}
        self.locked: dict[str, Decimal] = {}
        self.orders: dict[str, dict[str, Any]] = {}  # latest order per clientOrderId
        self.placed_orders: list[dict[str, str]] = []  # params of every accepted placement
        self.trades: list[dict[str, Any]] = []  # every fill, as GET /api/v3/myTrades lists it
        self.market_fill_parts = 1  # a MARKET order fills in this many trades
        self.can_trade = True  # the account read's canTrade
        # What GET /sapi/v1/account/apiRestrictions reports about the key: by default one fit
        # for a trading bot (read and spot trading only); tests change entries as they need.
        self.api_restrictions: dict[str, Any] = {
            "ipRestrict": False,
            "createTime": 1623840271000,
            "enableReading": True,
            "enableWithdrawals": False,
            "enableInternalTransfer": False,
            "enableMargin": False,
            "enableFutures": False,
            "permitsUniversalTransfer": False,
            "enableVanillaOptions": False,
            "enableFixApiTrade": False,
            "enableFixReadOnly": False,
            "enableSpotAndMarginTrading": True,
            "enablePortfolioMarginTrading": False,
        }
        self.requests: list[ReceivedRequest] = []
        self.clock_skew_ms = 0
        self.latency_s = 0.0
        self.timeout_sleep_s = 2.0  # longer than any client timeout a test uses
        # An order placed by a lost-answer fault stays invisible to GET /order and /allOrders
        # this long (Binance's look-ups read memory or a database that may lag the engine).
        self.lookup_lag_s = 0.0
        # The next accepted placement answers with a status this client has never heard of.
        self.unknown_status_next = False
        self.hidden_until: dict[int, float] = {}  # orderId -> time.monotonic() it shows up
        self.order_history: list[dict[str, Any]] = []  # every order ever placed, oldest first
        self._faults: deque[Fault] = deque()
        self.limits = RateLimits()  # request weight per minute: 429 past it, 418 if ignored
        self._lock = threading.RLock()
        self._stopping = threading.Event()
        self._ids = itertools.count(1)
        # binance.com's address and the spot testnet's: one book, but the testnet has no /sapi.
        self._servers: list[tuple[_Server, threading.Thread]] = []

    # --- lifecycle ------------------------------------------------------------------------

    def start(self) -> BinanceFake:
        """Serve binance.com and the testnet on free ports of 127.0.0.1, in background threads."""
        self._stopping.clear()
        for testnet in (False, True):
            server = _Server(("127.0.0.1", 0), _handler_for(self, testnet=testnet))
            # A short poll interval keeps stop() fast; the default 0.5 s adds up over a run.
            serve = functools.partial(server.serve_forever, poll_interval=0.02)
            thread = threading.Thread(target=serve, name="binance-fake")
            thread.start()
            self._servers.append((server, thread))
        return self

    def stop(self) -> None:
        """Stop serving, wake sleeping handlers and join every thread."""
        self._stopping.set()
        for server, _ in self._servers:
            server.shutdown()
            server.server_close()
        for _, thread in self._servers:
            thread.join()
        self._servers = []

    def __enter__(self) -> BinanceFake:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    @property
    def base_url(self) -> str:
        """http://127.0.0.1:PORT: binance.com, for BinanceExchange(base_url=...)."""
        assert self._servers, "start the fake first"
        return f"http://127.0.0.1:{self._servers[0][0].server_address[1]}"

    @property
    def testnet_base_url(self) -> str:
        """http://127.0.0.1:PORT: the spot testnet (testnet.binance.vision), which has no /sapi."""
        assert self._servers, "start the fake first"
        return f"http://127.0.0.1:{self._servers[1][0].server_address[1]}"

    # --- test controls --------------------------------------------------------------------

    def fail_next(
        self,
        kind: str,
        count: int = 1,
        *,
        path: str | None = None,
        msg: str | None = None,
        retry_after_s: int = 1,
    ) -> None:
        """Make the next `count` requests (to `path`, if given) fail as `kind`."""
        if kind not in FAULT_KINDS:
            raise ValueError(f"unknown fault kind {kind!r}")
        with self._lock:
            self._faults.extend(Fault(kind, path, msg, retry_after_s) for _ in range(count))

    def set_price(self, symbol: str, price: Decimal | str) -> None:
        """The price MARKET orders fill at and the ticker reports; the candles show it from now."""
        with self._lock:
            self.prices[symbol] = Decimal(price)
            self.moved(symbol, Decimal(price))

    def moved(self, symbol: str, price: Decimal) -> None:
        """Record that the market traded at `price` now (the klines show it)."""
        with self._lock:
            self.price_moves.setdefault(symbol, []).append((self.server_time_ms(), price))

    def set_balance(self, asset: str, free: Decimal | str, locked: Decimal | str = "0") -> None:
        """Set one asset's free and locked balance."""
        self.free[asset], self.locked[asset] = Decimal(free), Decimal(locked)

    def server_time_ms(self) -> int:
        """The fake's clock: real time shifted by `clock_skew_ms`."""
        return int(time.time() * 1000) + self.clock_skew_ms

    def requests_to(self, method: str, path: str) -> list[ReceivedRequest]:
        """Every request received for one method and path, oldest first."""
        return [r for r in self.requests if r.method == method and r.path == path]

    def sleep(self, seconds: float) -> None:
        """Sleep that `stop()` interrupts."""
        self._stopping.wait(seconds)

    @property
    def weight_limit(self) -> int:
        """Request weight a minute before Binance answers 429 (6000, as on binance.com)."""
        return self.limits.weight_limit

    @weight_limit.setter
    def weight_limit(self, value: int) -> None:
        self.limits.weight_limit = value

    def used_weight(self) -> int:
        """Request weight used in the current minute, as X-MBX-USED-WEIGHT-1M reports it."""
        return self.limits.used_weight()

    def take_fault(self, path: str) -> Fault | None:
        with self._lock:
            for fault in self._faults:
                if fault.path in (None, path):
                    self._faults.remove(fault)
                    return fault
        return None

    # --- request handling -----------------------------------------------------------------

    def verify_signature(self, query: str, body: str, headers: dict[str, str]) -> dict[str, str]:
        """Check key, signature over totalParams (query + body) and the timestamp, as Binance
        does: HMAC with the key's secret, or Ed25519 with the public key registered for it."""
        key = headers.get("x-mbx-apikey")
        if not key:
            raise BinanceError(-2014)
        public_key = self.ed25519_keys.get(key)
        if public_key is not None:
            secret = ""
        elif hmac.compare_digest(key, self.api_key):
            secret = self.api_secret
        elif key in self.other_keys:
            secret = self.other_keys[key]
        else:
            raise BinanceError(-2015)
        signatures = re.findall(r"(?:^|&)signature=([^&]*)", query + "&" + body)
        total = re.sub(r"&?signature=[^&]*", "", query) + re.sub(r"&?signature=[^&]*", "", body)
        if len(signatures) != 1:
            raise BinanceError(-1022)
        if public_key is not None:
            valid = ed25519_valid(public_key, total, signatures[0])
        else:
            valid = hmac_valid(secret, total, signatures[0])
        if not valid:
            raise BinanceError(-1022)
        params = dict(parse_qsl(query)) | dict(parse_qsl(body))
        try:
            timestamp, recv_window = int(params["timestamp"]), int(params.get("recvWindow", 5000))
        except (KeyError, ValueError) as exc:
            raise BinanceError(-1102, "Mandatory parameter 'timestamp' was not sent.") from exc
        now = self.server_time_ms()
        if timestamp >= now + 1000:
            raise BinanceError(
                -1021, "Timestamp for this request was 1000ms ahead of the server's time."
            )
        if now - timestamp > recv_window:
            raise BinanceError(-1021)
        return params

    def route(self, method: str, path: str, params: dict[str, str]) -> Any:
        """Answer one request with Binance's JSON, or raise BinanceError."""
        routes: dict[tuple[str, str], Callable[[dict[str, str]], Any]] = {
            ("GET", "/api/v3/ping"): lambda _: {},
            ("GET", "/api/v3/time"): lambda _: {"serverTime": self.server_time_ms()},
            ("GET", "/api/v3/exchangeInfo"): self.exchange_info,
            ("GET", "/api/v3/ticker/price"): self.ticker_price,
            ("GET", "/api/v3/klines"): self.klines,
            ("GET", "/api/v3/account"): self.account,
            ("POST", "/api/v3/order"): self.place,
            ("GET", "/api/v3/order"): self.query_order,
            ("DELETE", "/api/v3/order"): self.cancel,
            ("GET", TRADES_PATH): self.my_trades,
            ("GET", "/api/v3/openOrders"): self.open_orders,
            ("GET", ALL_ORDERS_PATH): self.all_orders,
            ("GET", API_RESTRICTIONS_PATH): self.account_api_restrictions,
        }
        if (method, path) not in routes:
            raise BinanceError(-1000, f"Unknown endpoint {method} {path}", status=404)
        with self._lock:
            return routes[method, path](params)

    def _symbol_list(self, params: dict[str, str]) -> list[str] | None:
        if "symbol" in params:
            names = [params["symbol"]]
        elif "symbols" in params:
            names = json.loads(params["symbols"])
        else:
            return None
        if any(name not in self.symbols for name in names):
            raise BinanceError(-1121)
        return names

    def exchange_info(self, params: dict[str, str]) -> dict[str, Any]:
        info = load_exchange_info()
        names = self._symbol_list(params)
        info["serverTime"] = self.server_time_ms()
        if names is not None:
            info["symbols"] = [self.symbols[name] for name in names]
        return info

    def ticker_price(self, params: dict[str, str]) -> Any:
        names = self._symbol_list(params)
        tickers = [
            {"symbol": name, "price": fmt8(self.prices[name])}
            for name in (names if names is not None else self.prices)
        ]
        return tickers[0] if "symbol" in params else tickers

    def klines(self, params: dict[str, str]) -> list[list[Any]]:
        """GET /api/v3/klines: one symbol's one-minute candles from its recorded price moves."""
        symbol = params.get("symbol")
        if not symbol or "interval" not in params:
            raise BinanceError(-1102, "Mandatory parameter 'symbol' or 'interval' was not sent.")
        if symbol not in self.symbols:
            raise BinanceError(-1121)
        if params["interval"] != "1m":
            raise BinanceError(-1120, "Invalid interval.")
        if not 0 < int(params.get("limit", "500")) <= 1000:
            raise BinanceError(-1102, "Illegal value for parameter 'limit'.")
        moves = self.price_moves.get(symbol, [])
        opening = self.opening_prices.get(symbol, self.prices[symbol])
        return [
            candle(moves, open_ms, opening)
            for open_ms in minute_opens(params, self.server_time_ms())
        ]

    def account(self, _: dict[str, str]) -> dict[str, Any]:
        assets = sorted(set(self.free) | set(self.locked))
        return {
            "makerCommission": 10, "takerCommission": 10, "buyerCommission": 0,
            "sellerCommission": 0, "canTrade": self.can_trade, "canWithdraw": True,
            "canDeposit": True,
            "brokered": False, "requireSelfTradePrevention": False, "preventSor": False,
            "updateTime": self.server_time_ms(), "accountType": "SPOT", "permissions": ["SPOT"],
            "uid": 354937868,
            "commissionRates": {"maker": "0.00100000", "taker": "0.00100000",
                                "buyer": "0.00000000", "seller": "0.00000000"},
            "balances": [
                {"asset": a, "free": fmt8(self.free.get(a, Decimal(0))),
                 "locked": fmt8(self.locked.get(a, Decimal(0)))}
                for a in assets
            ],
        }  # fmt: skip

    def account_api_restrictions(self, _: dict[str, str]) -> dict[str, Any]:
        """The key's permissions, as Binance's wallet endpoint reports them."""
        return dict(self.api_restrictions)

    def find(self, params: dict[str, str], missing_code: int) -> dict[str, Any]:
        wanted = params.get("origClientOrderId")
        for order in self.orders.values():
            same_id = wanted == order["clientOrderId"] or params.get("orderId") == str(
                order["orderId"]
            )
            if same_id and order["symbol"] == params.get("symbol"):
                return order
        raise BinanceError(missing_code)

    def _parse_order(self, p: dict[str, str]) -> tuple[str, Decimal, Decimal]:
        """Validate the parameters as Binance does; returns (client id, quantity, price)."""
        symbol, side, kind = p.get("symbol", ""), p.get("side"), p.get("type")
        if symbol not in self.symbols:
            raise BinanceError(-1121)
        required = {"MARKET": (), "LIMIT": ("price", "timeInForce")}.get(
            str(kind), ("price", "timeInForce", "stopPrice")
        )
        if side not in ("BUY", "SELL") or kind not in ("MARKET", "LIMIT", "STOP_LOSS_LIMIT"):
            raise BinanceError(-1102, "Invalid side or type.")
        if missing := [name for name in required if name not in p]:
            raise BinanceError(-1102, f"Mandatory parameter '{missing[0]}' was not sent.")
        client_id = p.get("newClientOrderId") or f"fake{next(self._ids)}"
        previous = self.orders.get(client_id)
        if previous is not None and previous["status"] in ("NEW", "PARTIALLY_FILLED"):
            raise BinanceError(-2010, "Duplicate order sent.")
        f = {x["filterType"]: x for x in self.symbols[symbol]["filters"]}
        step, tick = Decimal(f["LOT_SIZE"]["stepSize"]), Decimal(f["PRICE_FILTER"]["tickSize"])
        price = Decimal(p["price"]) if kind != "MARKET" else self.prices[symbol]
        if "quantity" in p:
            qty = Decimal(p["quantity"])
        elif kind == "MARKET" and "quoteOrderQty" in p:
            qty = (Decimal(p["quoteOrderQty"]) / price / step).to_integral_value(ROUND_FLOOR) * step
        else:
            raise BinanceError(-1102, "Mandatory parameter 'quantity' was not sent.")
        for value in (price, Decimal(p.get("stopPrice", price))):
            if value % tick != 0 or value < Decimal(f["PRICE_FILTER"]["minPrice"]):
                raise BinanceError(-1013, "Filter failure: PRICE_FILTER")
        if qty % step != 0 or qty < Decimal(f["LOT_SIZE"]["minQty"]):
            raise BinanceError(-1013, "Filter failure: LOT_SIZE")
        self._check_market_filters(f, str(side), str(kind), qty, price, self.prices[symbol])
        return client_id, qty, price

    @staticmethod
    def _check_market_filters(
        f: dict[str, dict[str, Any]],
        side: str,
        kind: str,
        qty: Decimal,
        price: Decimal,
        market: Decimal,
    ) -> None:
        """MARKET_LOT_SIZE, PERCENT_PRICE_BY_SIDE (around the fake's own price) and NOTIONAL."""
        is_market = kind == "MARKET"
        lot = f.get("MARKET_LOT_SIZE")
        if is_market and lot is not None:
            low, high, step = (Decimal(lot[k]) for k in ("minQty", "maxQty", "stepSize"))
            if qty < low or (high and qty > high) or (step and (qty - low) % step != 0):
                raise BinanceError(-1013, "Filter failure: MARKET_LOT_SIZE")
        by_side = f.get("PERCENT_PRICE_BY_SIDE")
        if not is_market and by_side is not None:
            prefix = "bid" if side == "BUY" else "ask"
            up = Decimal(by_side[f"{prefix}MultiplierUp"])
            down = Decimal(by_side[f"{prefix}MultiplierDown"])
            if price > market * up or price < market * down:
                raise BinanceError(-1013, "Filter failure: PERCENT_PRICE_BY_SIDE")
        notional, rule = qty * price, f.get("NOTIONAL", {})
        low = Decimal(rule.get("minNotional", "0"))
        high = Decimal(rule.get("maxNotional", "0"))
        if (rule.get("applyMinToMarket", True) or not is_market) and notional < low:
            raise BinanceError(-1013, "Filter failure: NOTIONAL")
        if (rule.get("applyMaxToMarket", False) or not is_market) and high and notional > high:
            raise BinanceError(-1013, "Filter failure: NOTIONAL")

    def place(self, p: dict[str, str]) -> dict[str, Any]:
        client_id, qty, price = self._parse_order(p)
        symbol, side, kind = p["symbol"], p["side"], p["type"]
        base, quote = self.symbols[symbol]["baseAsset"], self.symbols[symbol]["quoteAsset"]
        spend_asset, spend = (quote, qty * price) if side == "BUY" else (base, qty)
        if self.free.get(spend_asset, Decimal(0)) < spend:
            raise BinanceError(-2010)
        now = self.server_time_ms()
        order: dict[str, Any] = {
            "symbol": symbol, "orderId": next(self._ids), "orderListId": -1,
            "clientOrderId": client_id, "price": fmt8(price if kind != "MARKET" else Decimal(0)),
            "origQty": fmt8(qty), "executedQty": fmt8(Decimal(0)),
            "cummulativeQuoteQty": fmt8(Decimal(0)), "status": "NEW",
            "timeInForce": p.get("timeInForce", "GTC"), "type": kind, "side": side,
            "stopPrice": fmt8(Decimal(p.get("stopPrice", "0"))), "icebergQty": fmt8(Decimal(0)),
            "time": now, "updateTime": now, "isWorking": kind != "STOP_LOSS_LIMIT",
            "workingTime": now, "origQuoteOrderQty": fmt8(Decimal(p.get("quoteOrderQty", "0"))),
            "selfTradePreventionMode": "EXPIRE_MAKER", "fills": [],
        }  # fmt: skip
        self.free[spend_asset] -= spend
        if kind == "MARKET":
            step = Decimal(self._filter(symbol, "LOT_SIZE")["stepSize"])
            part = (qty / self.market_fill_parts / step).to_integral_value(ROUND_FLOOR) * step
            while Decimal(order["executedQty"]) < qty:
                rest = qty - Decimal(order["executedQty"])
                self._fill(order, rest if part == 0 or rest < 2 * part else part, price)
        else:
            self.locked[spend_asset] = self.locked.get(spend_asset, Decimal(0)) + spend
        self.orders[client_id] = order
        self.order_history.append(order)
        self.placed_orders.append(dict(p))
        return self.order_view(order, placed=True)

    def _filter(self, symbol: str, kind: str) -> dict[str, Any]:
        return next(f for f in self.symbols[symbol]["filters"] if f["filterType"] == kind)

    def _fill(
        self, order: dict[str, Any], qty: Decimal, price: Decimal, maker: bool = False
    ) -> None:
        """Execute `qty` of `order` at `price` as one trade, charging 0.1% of what it receives."""
        spec = self.symbols[order["symbol"]]
        base, quote = spec["baseAsset"], spec["quoteAsset"]
        cost = qty * price
        buying = order["side"] == "BUY"
        received_asset, received = (base, qty) if buying else (quote, cost)
        commission = (received * COMMISSION_RATE).quantize(EIGHT_PLACES)
        self.free[received_asset] = (
            self.free.get(received_asset, Decimal(0)) + received - commission
        )
        executed = Decimal(order["executedQty"]) + qty
        status = "FILLED" if executed >= Decimal(order["origQty"]) else "PARTIALLY_FILLED"
        now = self.server_time_ms()
        order.update(
            status=status,
            executedQty=fmt8(executed),
            cummulativeQuoteQty=fmt8(Decimal(order["cummulativeQuoteQty"]) + cost),
            updateTime=now,
        )
        trade = {
            "symbol": order["symbol"], "id": next(self._ids), "orderId": order["orderId"],
            "orderListId": -1, "price": fmt8(price), "qty": fmt8(qty), "quoteQty": fmt8(cost),
            "commission": fmt8(commission), "commissionAsset": received_asset, "time": now,
            "isBuyer": buying, "isMaker": maker, "isBestMatch": True,
        }  # fmt: skip
        self.trades.append(trade)
        self.moved(order["symbol"], price)
        # The FULL placement answer lists the same trades, with the same commission.
        order["fills"].append(
            {"price": trade["price"], "qty": trade["qty"], "commission": trade["commission"],
             "commissionAsset": received_asset, "tradeId": trade["id"]}
        )  # fmt: skip

    def fill_resting(self, client_order_id: str, qty: Decimal | str | None = None) -> None:
        """Fill `qty` (default: the rest) of a resting LIMIT order at its price, as a maker."""
        with self._lock:
            order = self.orders[client_order_id]
            assert order["status"] in ("NEW", "PARTIALLY_FILLED"), order["status"]
            left = Decimal(order["origQty"]) - Decimal(order["executedQty"])
            amount = Decimal(qty) if qty is not None else left
            assert 0 < amount <= left
            spec, price = self.symbols[order["symbol"]], Decimal(order["price"])
            if order["side"] == "BUY":
                self.locked[spec["quoteAsset"]] -= amount * price
            else:
                self.locked[spec["baseAsset"]] -= amount
            self._fill(order, amount, price, maker=True)

    def my_trades(self, params: dict[str, str]) -> list[dict[str, Any]]:
        """GET /api/v3/myTrades: the account's trades of one symbol (one order), oldest first."""
        symbol = params.get("symbol")
        if not symbol:
            raise BinanceError(-1102, "Mandatory parameter 'symbol' was not sent.")
        if symbol not in self.symbols:
            raise BinanceError(-1121)
        limit = int(params.get("limit", "500"))
        if not 0 < limit <= 1000:
            raise BinanceError(-1102, "Illegal value for parameter 'limit'.")
        from_id = int(params.get("fromId", "0"))
        order_id = params.get("orderId")
        found = [
            trade
            for trade in self.trades
            if trade["symbol"] == symbol
            and (order_id is None or str(trade["orderId"]) == order_id)
            and trade["id"] >= from_id
        ]
        return sorted(found, key=lambda trade: int(trade["id"]))[:limit]

    def open_orders(self, params: dict[str, str]) -> list[dict[str, Any]]:
        """GET /api/v3/openOrders: the open orders of one symbol, or of all when none is given."""
        symbol = params.get("symbol")
        if symbol is not None and symbol not in self.symbols:
            raise BinanceError(-1121)
        return [
            self.order_view(order)
            for order in self.orders.values()
            if order["status"] in ("NEW", "PARTIALLY_FILLED")
            and (symbol is None or order["symbol"] == symbol)
        ]

    # --- look-ups that may lag a lost answer ---------------------------------------------

    def place_answer_lost(self, params: dict[str, str]) -> None:
        """Process a placement whose answer is lost; its order is hidden for `lookup_lag_s`."""
        with self._lock, contextlib.suppress(BinanceError):
            placed = self.route("POST", "/api/v3/order", params)
            if self.lookup_lag_s:
                self.hidden_until[placed["orderId"]] = time.monotonic() + self.lookup_lag_s

    def visible(self, order: dict[str, Any]) -> bool:
        """False while a lost-answer order is still inside its look-up lag."""
        return time.monotonic() >= self.hidden_until.get(order["orderId"], 0.0)

    def query_order(self, params: dict[str, str]) -> dict[str, Any]:
        """GET /api/v3/order by origClientOrderId or orderId; -2013 while it is hidden."""
        order = self.find(params, -2013)
        if not self.visible(order):
            raise BinanceError(-2013)
        return self.order_view(order)

    def all_orders(self, params: dict[str, str]) -> list[dict[str, Any]]:
        """GET /api/v3/allOrders: one symbol's orders (any status), oldest first.

        As Binance documents it: with orderId, orders >= that id; with startTime/endTime, those
        placed in between (at most 24 hours apart); otherwise the most recent; limit 500, max 1000.
        """
        symbol = params.get("symbol")
        if not symbol:
            raise BinanceError(-1102, "Mandatory parameter 'symbol' was not sent.")
        if symbol not in self.symbols:
            raise BinanceError(-1121)
        limit = int(params.get("limit", "500"))
        if not 0 < limit <= 1000:
            raise BinanceError(-1102, "Illegal value for parameter 'limit'.")
        start, end = params.get("startTime"), params.get("endTime")
        if start and end and int(end) - int(start) > 24 * 3600 * 1000:
            raise BinanceError(-1127, "More than 24 hours between startTime and endTime.")
        found = [
            order
            for order in self.order_history
            if order["symbol"] == symbol
            and self.visible(order)
            and int(order["orderId"]) >= int(params.get("orderId", "0"))
            and (start is None or int(order["time"]) >= int(start))
            and (end is None or int(order["time"]) <= int(end))
        ]
        found.sort(key=lambda order: int(order["orderId"]))
        page = found[:limit] if "orderId" in params or start else found[-limit:]
        return [self.order_view(order) for order in page]

    def order_view(self, order: dict[str, Any], placed: bool = False) -> dict[str, Any]:
        """An order as GET /order shows it, or as POST /order answers it (newOrderRespType FULL)."""
        view = {k: v for k, v in order.items() if k != "fills"}
        if placed:
            view["transactTime"] = view.pop("time")
            for key in ("updateTime", "isWorking", "icebergQty"):
                del view[key]
            view["fills"] = order["fills"]
        return view

    def cancel(self, params: dict[str, str]) -> dict[str, Any]:
        order = self.find(params, -2011)
        if order["status"] not in ("NEW", "PARTIALLY_FILLED"):
            raise BinanceError(-2011)
        spec = self.symbols[order["symbol"]]
        qty = Decimal(order["origQty"]) - Decimal(order["executedQty"])
        buying = order["side"] == "BUY"
        asset = spec["quoteAsset"] if buying else spec["baseAsset"]
        amount = qty * Decimal(order["price"]) if buying else qty
        self.locked[asset] -= amount
        self.free[asset] = self.free.get(asset, Decimal(0)) + amount
        order.update(status="CANCELED", updateTime=self.server_time_ms())
        view = self.order_view(order)
        view["origClientOrderId"] = order["clientOrderId"]
        view["clientOrderId"] = params.get("newClientOrderId") or f"cancel{next(self._ids)}"
        view["transactTime"] = order["updateTime"]
        return view


def _handler_for(fake: BinanceFake, *, testnet: bool) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        # HTTP/1.0: one request per connection, so no handler thread idles on keep-alive.
        protocol_version = "HTTP/1.0"

        def log_message(self, format: str, *args: Any) -> None:
            """Silence the per-request log lines."""

        def do_GET(self) -> None:
            self._dispatch()

        def do_POST(self) -> None:
            self._dispatch()

        def do_DELETE(self) -> None:
            self._dispatch()

        def _dispatch(self) -> None:
            url = urlsplit(self.path)
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length).decode() if length else ""
            headers = {k.lower(): v for k, v in self.headers.items()}
            params = dict(parse_qsl(url.query)) | dict(parse_qsl(body))
            with fake._lock:
                received = ReceivedRequest(self.command, url.path, params, headers, testnet)
                fake.requests.append(received)
            if testnet and url.path.startswith("/sapi/"):
                # The spot testnet serves /api only: wallet (/sapi) paths are not found there.
                self._send(404, {"code": -1000, "msg": f"Unknown endpoint {url.path}"})
                return
            if fake.latency_s:
                fake.sleep(fake.latency_s)
            account = headers.get("x-mbx-apikey", "")
            refusal = fake.limits.admit(self.command, url.path, params, account)
            if refusal is not None:
                error = {"code": -1003, "msg": refusal.msg}
                self._send(refusal.status, error, {"Retry-After": str(refusal.retry_after_s)})
                return
            fault = fake.take_fault(url.path)
            try:
                if url.path in SIGNED_PATHS:
                    params = fake.verify_signature(url.query, body, headers)
                self._answer(fault, url.path, params)
            except BinanceError as exc:
                self._send(exc.status, {"code": exc.code, "msg": exc.msg})
            except (InvalidOperation, ValueError):
                self._send(400, {"code": -1100, "msg": "Illegal characters found in a parameter."})

        def _answer(self, fault: Fault | None, path: str, params: dict[str, str]) -> None:
            if fault is None:
                answer = fake.route(self.command, path, params)
                placing = self.command == "POST" and path == "/api/v3/order"
                if placing and fake.unknown_status_next:
                    fake.unknown_status_next = False
                    answer = {**answer, "status": "PENDING_SOMETHING_NEW"}
                self._send(200, answer)
            elif fault.kind in LOST_ANSWER_KINDS:
                # The order is processed, but the client never learns how it went.
                if self.command == "POST" and path == "/api/v3/order":
                    fake.place_answer_lost(params)
                if fault.kind == "timeout":
                    fake.sleep(fake.timeout_sleep_s)
                if fault.kind == "placed-500":
                    msg = fault.msg or "Internal error; unable to process your request."
                    self._send(500, {"code": -1001, "msg": msg})
                elif fault.kind == "drop":
                    self.close_connection = True  # no status line: the client sees a reset
                else:
                    code = -1006 if fault.kind == "-1006" else -1007
                    raise BinanceError(code, fault.msg)
            elif fault.kind in ("500", "503"):
                msg = fault.msg or "Internal error; unable to process your request."
                self._send(int(fault.kind), {"code": -1001, "msg": msg})
            elif fault.kind in ("429", "418"):
                msg = fault.msg or ERRORS[-1003][1]
                headers = {"Retry-After": str(fault.retry_after_s)}
                self._send(int(fault.kind), {"code": -1003, "msg": msg}, headers)
            else:
                raise BinanceError(int(fault.kind), fault.msg)

        def _send(self, status: int, payload: Any, headers: dict[str, str] | None = None) -> None:
            data = json.dumps(payload).encode()
            try:
                self.send_response(status)
                self.send_header("Content-Type", "application/json;charset=UTF-8")
                self.send_header("Content-Length", str(len(data)))
                account = self.headers.get("X-MBX-APIKEY", "")
                counters = fake.limits.headers(self.command, urlsplit(self.path).path, account)
                for name, value in (counters | (headers or {})).items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(data)
            except ConnectionError:
                pass  # the client timed out and left; nothing to tell it

    return Handler
