"""The load: N client threads over M users, mixed reads, order placement and cancels, on loopback.

Each client keeps one HTTP/1.1 connection, picks its next action from a fixed mix with its own
seeded random generator, and only sends requests a careful client would (orders it can afford,
cancels of its own resting orders), so that any answer other than the expected success or a 429
is an error of the server. A 429 is honoured briefly (at most a second) and counted apart.
"""

from __future__ import annotations

import json
import random
import threading
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from decimal import ROUND_DOWN, Decimal
from typing import Any

from loadtest.client import TIMEOUT_S, Connection, Reply, loopback_only, percentile

PASSWORD = "load test password 1234"  # noqa: S105 - throwaway accounts on a local stack
# Far below the market a resting buy never fills, so its cancel cannot meet a fill; near it, it
# fills on a later price update (the paper exchange's resting-order path).
FAR, NEAR = Decimal("0.80"), Decimal("0.998")
SYMBOLS = {  # symbol -> (step size, tick size), as in the shipped exchange snapshot
    "BTCUSDT": (Decimal("0.00001"), Decimal("0.01")),
    "ETHUSDT": (Decimal("0.0001"), Decimal("0.01")),
    "SOLUSDT": (Decimal("0.001"), Decimal("0.01")),
}
MIN_USDT_TO_BUY = Decimal(1500)

READS = ("prices", "price", "trades", "trade", "dashboard", "notes", "me", "health")
MIX: dict[str, int] = {
    "prices": 9, "price": 8, "trades": 10, "trade": 6, "dashboard": 9, "notes": 6, "me": 4,
    "health": 2, "market_buy": 14, "limit_near": 6, "limit_far": 8, "cancel": 8,
    "market_sell": 4, "note": 4,
}  # fmt: skip


@dataclass
class Account:
    """One load user, shared by the clients that act for it."""

    email: str
    source: str  # the loopback address this user's clients connect from
    user_id: str = ""
    token: str = ""
    usdt_free: Decimal = Decimal(10000)
    lock: threading.Lock = field(default_factory=threading.Lock)


@dataclass
class Stats:
    """What the clients saw, merged."""

    latencies: list[float] = field(default_factory=list)
    statuses: Counter[int] = field(default_factory=Counter)
    by_action: Counter[str] = field(default_factory=Counter)
    errors: list[str] = field(default_factory=list)
    throttled: int = 0
    accepted: set[str] = field(default_factory=set)  # trade ids answered 202
    canceled: set[str] = field(default_factory=set)  # trade ids whose cancel was answered 202

    def merge(self, other: Stats) -> None:
        self.latencies += other.latencies
        self.statuses.update(other.statuses)
        self.by_action.update(other.by_action)
        self.errors += other.errors
        self.throttled += other.throttled
        self.accepted |= other.accepted
        self.canceled |= other.canceled


def register(connection: Connection, account: Account) -> None:
    """Create the account and log in (auth requests are not part of the measured load)."""
    created = connection.request(
        "POST", "/api/auth/register", body={"email": account.email, "password": PASSWORD}
    )
    if created.status != 201:
        raise RuntimeError(f"register {account.email}: {created.status} {created.body}")
    login = connection.request(
        "POST", "/api/auth/login", body={"email": account.email, "password": PASSWORD}
    )
    if login.status != 200:
        raise RuntimeError(f"login {account.email}: {login.status} {login.body}")
    account.user_id, account.token = created.body["id"], login.body["access_token"]


class Client(threading.Thread):
    """One load client acting for `account` until `stop_at` (time.monotonic())."""

    def __init__(
        self,
        index: int,
        account: Account,
        address: tuple[str, int],
        stop_at: float,
        *,
        seed: int,
        seller: bool,
    ) -> None:
        super().__init__(name=f"load-client-{index}", daemon=True)
        self.account, self.stop_at = account, stop_at
        self.seller = seller  # one client per account sells, so sells never race each other
        host, port = address
        self.connection = Connection(host, port, account.source)
        self.random = random.Random(seed)  # noqa: S311 - a reproducible mix, not crypto
        self.stats = Stats()
        self.prices: dict[str, Decimal] = {}
        self.mine: list[str] = []  # trade ids this client placed
        self.resting: list[str] = []  # far limit orders this client may cancel
        self.notes: list[str] = []
        self.actions = list(MIX)
        self.weights = [MIX[a] for a in self.actions]

    # --- plumbing -----------------------------------------------------------------------

    def send(self, action: str, method: str, path: str, expect: int, **kw: Any) -> Reply | None:
        """Send one request; None unless it got `expect` (429 and errors are counted here)."""
        started = time.perf_counter()
        reply = self.connection.request(method, path, self.account.token, **kw)
        self.stats.latencies.append(time.perf_counter() - started)
        self.stats.statuses[reply.status] += 1
        self.stats.by_action[action] += 1
        if reply.status == expect:
            return reply
        if reply.status == 429:
            self.stats.throttled += 1
            retry_after = float(reply.headers.get("retry-after", "1") or 1)
            time.sleep(min(1.0, retry_after))
        else:
            detail = json.dumps(reply.body)[:300] if reply.body is not None else ""
            self.stats.errors.append(f"{action} {method} {path}: {reply.status} {detail}")
        return None

    def run(self) -> None:
        try:
            while time.monotonic() < self.stop_at:
                action = self.random.choices(self.actions, self.weights)[0]
                getattr(self, f"do_{action}")()
        except Exception as exc:  # noqa: BLE001 - an answer we could not read is an error
            self.stats.errors.append(f"{self.name} stopped: {exc!r}")
        finally:
            self.connection.close()

    # --- reads --------------------------------------------------------------------------

    def do_prices(self) -> None:
        reply = self.send("prices", "GET", "/api/market/prices", 200)
        if reply is not None:
            self.prices = {p["symbol"]: Decimal(p["price"]) for p in reply.body["items"]}

    def do_price(self) -> None:
        symbol = self.random.choice(list(SYMBOLS))
        reply = self.send("price", "GET", f"/api/market/prices/{symbol}", 200)
        if reply is not None:
            self.prices[symbol] = Decimal(reply.body["price"])

    def do_trades(self) -> None:
        self.send("trades", "GET", "/api/trading/trades?limit=20", 200)

    def do_trade(self) -> None:
        if self.mine:
            self.send("trade", "GET", f"/api/trading/trades/{self.random.choice(self.mine)}", 200)

    def do_dashboard(self) -> dict[str, Decimal] | None:
        reply = self.send("dashboard", "GET", "/api/dashboard", 200)
        if reply is None:
            return None
        free = {b["asset"]: Decimal(b["free"]) for b in reply.body["balances"]}
        with self.account.lock:
            self.account.usdt_free = free.get("USDT", Decimal(0))
        return free

    def do_notes(self) -> None:
        self.send("notes", "GET", "/api/notes?limit=20", 200)

    def do_me(self) -> None:
        self.send("me", "GET", "/api/auth/me", 200)

    def do_health(self) -> None:
        self.send("health", "GET", "/health", 200)

    # --- writes -------------------------------------------------------------------------

    def _place(self, action: str, order: dict[str, str]) -> str | None:
        key = {"Idempotency-Key": uuid.uuid4().hex}
        reply = self.send(action, "POST", "/api/trading/trades", 202, body=order, headers=key)
        if reply is None:
            return None
        trade_id: str = reply.body["id"]
        self.stats.accepted.add(trade_id)
        self.mine.append(trade_id)
        return trade_id

    def _can_buy(self) -> bool:
        with self.account.lock:
            return self.account.usdt_free >= MIN_USDT_TO_BUY

    def do_market_buy(self) -> None:
        if self._can_buy():
            spend = Decimal(self.random.randint(10, 25))
            symbol = self.random.choice(list(SYMBOLS))
            order = {"symbol": symbol, "side": "BUY", "type": "MARKET"}
            order["quote_quantity"] = str(spend)
            self._place("market_buy", order)

    def _limit_buy(self, action: str, factor: Decimal) -> str | None:
        symbol = self.random.choice(list(SYMBOLS))
        if symbol not in self.prices or not self._can_buy():
            self.do_prices()
            return None
        step, tick = SYMBOLS[symbol]
        price = (self.prices[symbol] * factor / tick).to_integral_value(ROUND_DOWN) * tick
        quantity = (Decimal(12) / price / step).to_integral_value(ROUND_DOWN) * step + step
        order = {"symbol": symbol, "side": "BUY", "type": "LIMIT", "quantity": str(quantity),
                 "price": str(price)}  # fmt: skip
        return self._place(action, order)

    def do_limit_near(self) -> None:
        self._limit_buy("limit_near", NEAR)

    def do_limit_far(self) -> None:
        trade_id = self._limit_buy("limit_far", FAR)
        if trade_id is not None:
            self.resting.append(trade_id)

    def do_cancel(self) -> None:
        """Cancel one of our far limit orders once the executor has put it on the book."""
        if not self.resting:
            self.do_limit_far()
            return
        trade_id = self.resting.pop(0)
        seen = self.send("cancel", "GET", f"/api/trading/trades/{trade_id}", 200)
        if seen is None or seen.body["status"] != "NEW":
            if seen is not None and seen.body["status"] == "PENDING":
                self.resting.append(trade_id)  # not on the book yet: later
            return
        if self.send("cancel", "DELETE", f"/api/trading/trades/{trade_id}", 202) is not None:
            self.stats.canceled.add(trade_id)

    def do_market_sell(self) -> None:
        """Sell a quarter of a holding the dashboard shows free (never more than is there)."""
        free = self.do_dashboard() if self.seller else None
        if free is None:
            return
        for symbol, (step, _tick) in SYMBOLS.items():
            base = symbol.removesuffix("USDT")
            price = self.prices.get(symbol)
            quantity = (free.get(base, Decimal(0)) / 4 / step).to_integral_value(ROUND_DOWN) * step
            if price is not None and quantity * price >= Decimal(8):
                order = {"symbol": symbol, "side": "SELL", "type": "MARKET",
                         "quantity": str(quantity)}  # fmt: skip
                self._place("market_sell", order)
                return

    def do_note(self) -> None:
        if self.notes and self.random.random() < 0.4:
            note_id = self.random.choice(self.notes)
            pin = {"is_pinned": self.random.random() < 0.5}
            self.send("note", "PATCH", f"/api/notes/{note_id}", 200, body=pin)
            return
        note = {"title": "load", "content": "written under load", "tags": ["load"]}
        reply = self.send("note", "POST", "/api/notes", 201, body=note)
        if reply is not None:
            self.notes.append(reply.body["id"])


@dataclass
class LoadReport:
    """The figures of one run."""

    duration_s: float
    clients: int
    users: int
    stats: Stats
    accounts: list[Account]

    @property
    def requests(self) -> int:
        return len(self.stats.latencies)

    @property
    def errors(self) -> int:
        return len(self.stats.errors)

    def summary(self) -> dict[str, Any]:
        ms = [s * 1000 for s in self.stats.latencies]
        return {
            "duration_s": round(self.duration_s, 1),
            "clients": self.clients,
            "users": self.users,
            "requests": self.requests,
            "requests_per_s": round(self.requests / self.duration_s, 1),
            "errors": self.errors,
            "throttled_429": self.stats.throttled,
            "statuses": dict(sorted(self.stats.statuses.items())),
            "p50_ms": round(percentile(ms, 50), 1),
            "p95_ms": round(percentile(ms, 95), 1),
            "p99_ms": round(percentile(ms, 99), 1),
            "max_ms": round(max(ms), 1) if ms else None,
            "orders_accepted": len(self.stats.accepted),
            "cancels_accepted": len(self.stats.canceled),
            "by_action": dict(sorted(self.stats.by_action.items())),
            "first_errors": self.stats.errors[:10],
        }


def run_load(
    url: str, *, clients: int = 50, users: int = 20, duration_s: float = 60.0, seed: int = 7
) -> LoadReport:
    """Register `users` accounts, then run `clients` clients against them for `duration_s`."""
    host, port = loopback_only(url)
    run_id = uuid.uuid4().hex[:8]
    accounts = [
        Account(f"load-{run_id}+{i}@load.example.com", f"127.0.{1 + i // 250}.{1 + i % 250}")
        for i in range(users)
    ]
    for account in accounts:
        setup = Connection(host, port, account.source)
        try:
            register(setup, account)
        finally:
            setup.close()
    started = time.monotonic()
    stop_at = started + duration_s
    workers = [
        Client(i, accounts[i % users], (host, port), stop_at, seed=seed + i, seller=i < users)
        for i in range(clients)
    ]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(duration_s + 2 * TIMEOUT_S)
    stats = Stats()
    for worker in workers:
        stats.merge(worker.stats)
    hung = [w.name for w in workers if w.is_alive()]
    stats.errors += [f"{name} still running after the run" for name in hung]
    return LoadReport(time.monotonic() - started, clients, users, stats, accounts)
