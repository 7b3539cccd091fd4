# ruff: noqa: S608 - SQL here joins constant column lists; every value is a bound parameter.
"""Every API route's sample event variations, and the raw work each cannot avoid (its floor).

A route's calls cycle through its variations. A floor issues, through the DB-API driver and
the Redis client directly, the queries and commands that variation needs at the least: the
rate-limit count, the rows it reads or writes, the cache keys; password hashing and key
encryption where the route exists to do them. No FastAPI, Mangum, pydantic, ORM or JWT.
"""

from __future__ import annotations

import http.client
import json
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any
from urllib.parse import urlsplit

from tradebot.cache.client import get_redis, key
from tradebot.http.routes import route_named

from bench.data import PASSWORD, Account
from bench.rawdb import RawDb
from devstack.lambda_events import api_event

Event = dict[str, Any]


@dataclass
class Variation:
    """One kind of request a route gets, its expected status, and its floor."""

    name: str
    event: Callable[[int], Event]
    expect: int
    floor: Callable[[int], object]
    prepare: Callable[[int], object] | None = None  # untimed, before the route call
    floor_prepare: Callable[[int], object] | None = None  # untimed, before the floor call


@dataclass
class RouteBench:
    function: str
    variations: list[Variation]
    kind: str = "read"  # read | write | auth | trade (POST trades)


@dataclass
class WarmState:
    """Who and what the routes act on; built by `bench.warm.prepare_state`."""

    trader: Account  # paper, positions, trades, notes: what the reads read
    scratch: Account  # what the writes create and consume (orders, notes, cancels)
    key_owner: Account  # has a stored Binance key
    key_deleter: Account
    trade_ids: list[str]
    open_trade_ids: list[str]
    pending_for_route: list[str]
    pending_for_floor: list[str]
    note_ids: list[str]
    notes_for_route: list[str]
    notes_for_floor: list[str]
    queue_url: str
    db: RawDb
    run_id: str


def event_for(
    function: str,
    state_token: str | None,
    *,
    body: Any = None,
    path_params: dict[str, str] | None = None,
    query: dict[str, str] | None = None,
    headers: dict[str, str] | None = None,
) -> Event:
    """A REST proxy event for `function`'s route, as API Gateway sends it."""
    route = route_named(function)
    path = route.path
    for name, value in (path_params or {}).items():
        path = path.replace("{" + name + "}", value)
    all_headers = dict(headers or {})
    if state_token is not None:
        all_headers["Authorization"] = f"Bearer {state_token}"
    return api_event(
        route.method,
        path,
        resource=route.path,
        body=body,
        headers=all_headers,
        query=query,
        path_parameters=path_params,
    )


# --- floor building blocks ------------------------------------------------------------------


def rate_count(bucket: str, caller: str) -> None:
    """The rate limiter's one round trip: INCR and EXPIRE, pipelined."""
    counter = key("rl", bucket, caller, str(int(time.time() // 60)))
    pipe = get_redis().pipeline(transaction=False)
    pipe.incr(counter)
    pipe.expire(counter, 61)
    pipe.execute()


def read_prices_raw() -> None:
    pipe = get_redis().pipeline(transaction=False)
    pipe.hgetall(key("prices", "latest"))
    pipe.hgetall(key("prices", "at"))
    pipe.execute()


def read_price_raw(symbol: str) -> None:
    pipe = get_redis().pipeline(transaction=False)
    pipe.hget(key("prices", "latest"), symbol)
    pipe.hget(key("prices", "at"), symbol)
    pipe.execute()


def read_prices_of(symbols: list[str]) -> None:
    pipe = get_redis().pipeline(transaction=False)
    pipe.hmget(key("prices", "latest"), symbols)
    pipe.hmget(key("prices", "at"), symbols)
    pipe.execute()


def cached_read_raw(namespace: str, owner: str) -> str | None:
    """A read-through cache hit: the owner's version, then the entry."""
    redis = get_redis()
    version = redis.get(key("ver", namespace, owner)) or "0"
    value = redis.get(key("rt", namespace, owner, str(version), "probe"))
    return None if value is None else str(value)


class QueueSender:
    """One SendMessageBatch over a kept-alive connection: the queue's unavoidable round trip."""

    def __init__(self, queue_url: str) -> None:
        parts = urlsplit(queue_url)
        self.queue_url = queue_url
        self.connection = http.client.HTTPConnection(parts.hostname or "127.0.0.1", parts.port)

    def send(self, trade_id: str, user_id: str) -> None:
        body = json.dumps(
            {
                "QueueUrl": self.queue_url,
                "Entries": [
                    {
                        "Id": "0",
                        "MessageBody": json.dumps({"trade_id": trade_id, "action": "place"}),
                        "MessageGroupId": user_id,
                        "MessageDeduplicationId": trade_id,
                    },
                ],
            }
        )
        self.connection.request(
            "POST",
            "/",
            body,
            {
                "Content-Type": "application/x-amz-json-1.0",
                "X-Amz-Target": "AmazonSQS.SendMessageBatch",
            },
        )
        self.connection.getresponse().read()


NOTE_COLUMNS = "id, user_id, title, content, is_pinned, trade_id, created_at, updated_at"
TRADE_COLUMNS = (
    "id, user_id, symbol, side, type, quantity, quote_quantity, price, stop_price, status, "
    "executed_qty, cumulative_quote_qty, avg_price, fee, fee_asset, exchange_order_id, "
    "client_order_id, trading_mode, reason, idempotency_key, request_hash, claimed_by, "
    "claimed_at, stop_triggered, cancel_requested_at, created_at, updated_at"
)


def build(state: WarmState) -> list[RouteBench]:  # noqa: PLR0915 - one table, read top to bottom
    """The benches of every API route, in route-table order."""
    from datetime import UTC, datetime

    from tradebot.auth.passwords import hash_password, verify_password
    from tradebot.crypto.vault import get_vault

    db = state.db
    trader, uid, token = state.trader, state.trader.user_id, state.trader.token
    sid, stoken = state.scratch.user_id, state.scratch.token
    sender = QueueSender(state.queue_url)
    password_hash = db.read("SELECT password_hash FROM users WHERE id = %s", [uid])[0][0]

    def now() -> datetime:
        return datetime.now(UTC)

    def per_user(bucket: str = "read") -> None:
        rate_count(bucket, f"user:{uid}")

    def get(function: str, **kw: Any) -> Callable[[int], Event]:
        return lambda _i: event_for(function, token, **kw)

    # health -------------------------------------------------------------------------------
    def health_floor(_i: int) -> None:
        rate_count("read", "ip:127.0.0.1")
        db.read("SELECT 1")
        get_redis().get(key("prices", "updated_at"))

    # auth ---------------------------------------------------------------------------------
    def register_event(i: int) -> Event:
        email = f"new-{state.run_id}-{i}@example.com"
        return event_for("auth_register", None, body={"email": email, "password": PASSWORD})

    def register_floor(i: int) -> None:
        rate_count("auth", "ip:127.0.0.1")
        email = f"floor-{state.run_id}-{i}@example.com"
        db.read("SELECT id FROM users WHERE email = %s", [email])
        hashed = hash_password(PASSWORD)
        db.write(
            [
                (
                    "INSERT INTO users (id, email, password_hash, created_at, updated_at) "
                    "VALUES (%s, %s, %s, %s, %s)",
                    [str(uuid.uuid4()), email, hashed, now(), now()],
                )
            ]
        )

    def login_event(wrong: bool) -> Callable[[int], Event]:
        password = "not the password at all" if wrong else PASSWORD
        return lambda _i: event_for(
            "auth_login", None, body={"email": trader.email, "password": password}
        )

    def unknown_email_event(i: int) -> Event:
        # A new address each time: the per-(email, address) lockout never trips.
        body = {"email": f"nobody-{i}@example.com", "password": "not the password at all"}
        return event_for("auth_login", None, body=body)

    def login_floor(_i: int) -> None:
        rate_count("auth", "ip:127.0.0.1")
        db.read("SELECT id, password_hash FROM users WHERE email = %s", [trader.email])
        verify_password(password_hash, PASSWORD)

    def me_floor(_i: int) -> None:
        per_user()
        db.read(
            "SELECT u.id, u.email, EXISTS (SELECT 1 FROM api_credentials c WHERE c.user_id = u.id)"
            " FROM users u WHERE u.id = %s",
            [uid],
        )

    # api keys -----------------------------------------------------------------------------
    from bench.live import ROUTE_KEY

    api_key, api_secret = ROUTE_KEY  # known to the bench's Binance fake, which checks it
    key_body: dict[str, Any] = {"api_key": api_key, "api_secret": api_secret, "testnet": True}

    def keys_put_floor(_i: int) -> None:
        rate_count("write", f"user:{state.key_owner.user_id}")
        vault = get_vault()
        db.write(
            [
                (
                    "SELECT id FROM api_credentials WHERE user_id = %s FOR UPDATE",
                    [state.key_owner.user_id],
                ),
                (
                    "UPDATE api_credentials SET api_key_encrypted = %s, api_secret_encrypted = %s, "
                    "api_key_hint = %s, testnet = %s, created_at = %s, updated_at = %s "
                    "WHERE user_id = %s",
                    [
                        vault.encrypt(api_key),
                        vault.encrypt(api_secret),
                        "AAAA…AAAA",
                        True,
                        now(),
                        now(),
                        state.key_owner.user_id,
                    ],
                ),
            ]
        )

    def keys_get_floor(_i: int) -> None:
        rate_count("read", f"user:{state.key_owner.user_id}")
        db.read(
            "SELECT api_key_hint, testnet, created_at FROM api_credentials WHERE user_id = %s",
            [state.key_owner.user_id],
        )

    def store_deleter_key(_i: int) -> None:
        from tradebot.accounts.keycheck import CheckedKey
        from tradebot.accounts.schemas import ApiKeyCreate
        from tradebot.accounts.service import store_api_key
        from tradebot.db.engine import unit_of_work

        with unit_of_work() as session:
            body = ApiKeyCreate.model_validate(key_body)
            checked = CheckedKey(None, ["read", "spot"])  # stored directly, unchecked
            store_api_key(session, state.key_deleter.user_id, body, checked)

    def keys_delete_floor(_i: int) -> None:
        rate_count("write", f"user:{state.key_deleter.user_id}")
        db.write([("DELETE FROM api_credentials WHERE user_id = %s", [state.key_deleter.user_id])])

    # notes --------------------------------------------------------------------------------
    def notes_list_floor(_i: int) -> None:
        per_user()
        cached_read_raw("notes", uid)

    def notes_list_miss_floor(_i: int) -> None:
        per_user()
        cached_read_raw("notes", uid)
        rows = db.read(
            f"SELECT {NOTE_COLUMNS} FROM notes WHERE user_id = %s "
            "ORDER BY is_pinned DESC, created_at DESC, id DESC LIMIT 51",
            [uid],
        )
        ids = [row[0] for row in rows]
        db.read(
            f"SELECT note_id, tag FROM note_tags WHERE note_id IN ({', '.join(['%s'] * len(ids))})"
            " ORDER BY tag",
            ids,
        )
        get_redis().set(key("rt", "notes", uid, "0", "probe"), "{}", ex=60)

    def invalidate_notes(_i: int) -> None:
        get_redis().incr(key("ver", "notes", uid))

    def note_rows(note_id: str) -> None:
        db.read(f"SELECT {NOTE_COLUMNS} FROM notes WHERE id = %s AND user_id = %s", [note_id, uid])
        db.read("SELECT note_id, tag FROM note_tags WHERE note_id = %s ORDER BY tag", [note_id])

    def note_get_floor(i: int) -> None:
        per_user()
        note_rows(state.note_ids[i % len(state.note_ids)])

    def note_create_floor(_i: int) -> None:
        rate_count("write", f"user:{sid}")
        note_id = str(uuid.uuid4())
        db.write(
            [
                (
                    f"INSERT INTO notes ({NOTE_COLUMNS}) VALUES (%s, %s, %s, %s, %s, %s, %s, %s)",
                    [
                        note_id,
                        sid,
                        "BTC breakout plan",
                        "Buy on a daily close above resistance.",
                        True,
                        None,
                        now(),
                        now(),
                    ],
                ),
                (
                    "INSERT INTO note_tags (note_id, tag) VALUES (%s, %s), (%s, %s)",
                    [note_id, "btc", note_id, "plan"],
                ),
            ]
        )
        get_redis().incr(key("ver", "notes", sid))

    def note_update_floor(i: int) -> None:
        rate_count("write", f"user:{uid}")
        note_id = state.note_ids[i % len(state.note_ids)]
        db.write(
            [
                (
                    f"SELECT {NOTE_COLUMNS} FROM notes WHERE id = %s AND user_id = %s",
                    [note_id, uid],
                ),
                (
                    "UPDATE notes SET is_pinned = %s, updated_at = %s WHERE id = %s",
                    [False, now(), note_id],
                ),
                ("DELETE FROM note_tags WHERE note_id = %s", [note_id]),
                (
                    "INSERT INTO note_tags (note_id, tag) VALUES (%s, %s), (%s, %s)",
                    [note_id, "btc", note_id, "review"],
                ),
            ]
        )
        get_redis().incr(key("ver", "notes", uid))

    def note_delete_floor(i: int) -> None:
        rate_count("write", f"user:{sid}")
        db.write(
            [("DELETE FROM notes WHERE id = %s AND user_id = %s", [state.notes_for_floor[i], sid])]
        )
        get_redis().incr(key("ver", "notes", sid))

    # market -------------------------------------------------------------------------------
    def symbols_floor(_i: int) -> None:
        per_user()
        get_redis().get(key("market", "filters"))

    def prices_floor(_i: int) -> None:
        per_user()
        read_prices_raw()

    def price_floor(i: int) -> None:
        per_user()
        read_price_raw("BTCUSDT" if i % 3 != 2 else "NOPEUSDT")

    # trades -------------------------------------------------------------------------------
    trade_bodies = [
        {
            "symbol": "BTCUSDT",
            "side": "BUY",
            "type": "LIMIT",
            "quantity": "0.001",
            "price": "60000.00",
        },
        {"symbol": "ETHUSDT", "side": "BUY", "type": "MARKET", "quote_quantity": "25"},
        {
            "symbol": "BTCUSDT",
            "side": "SELL",
            "type": "LIMIT",
            "quantity": "0.002",
            "price": "150000.00",
        },
    ]

    def trade_create_event(body: dict[str, str], keyed: bool) -> Callable[[int], Event]:
        def make(i: int) -> Event:
            headers = {"Idempotency-Key": f"bench-{state.run_id}-{i}"} if keyed else None
            return event_for("trades_create", stoken, body=body, headers=headers)

        return make

    def trade_create_floor(i: int) -> None:
        rate_count("write", f"user:{sid}")
        read_price_raw("BTCUSDT")
        trade_id = str(uuid.uuid4())
        db.write(
            [
                ("SELECT id FROM api_credentials WHERE user_id = %s", [sid]),
                ("SELECT asset, free, locked FROM paper_balances WHERE user_id = %s", [sid]),
                (
                    f"INSERT INTO trades ({TRADE_COLUMNS}) VALUES ({', '.join(['%s'] * 27)})",
                    [
                        trade_id,
                        sid,
                        "BTCUSDT",
                        "BUY",
                        "LIMIT",
                        Decimal("0.001"),
                        None,
                        Decimal(60000),
                        None,
                        "PENDING",
                        Decimal(0),
                        Decimal(0),
                        None,
                        Decimal(0),
                        None,
                        None,
                        uuid.uuid4().hex,
                        "paper",
                        None,
                        None,
                        None,
                        None,
                        None,
                        False,
                        None,
                        now(),
                        now(),
                    ],
                ),
            ]
        )
        get_redis().incr(key("ver", "dashboard", sid))
        sender.send(trade_id, sid)

    trade_list_queries: list[tuple[str, list[Any]]] = [
        ("AND symbol = %s", ["BTCUSDT"]),
        ("", []),
        ("AND status = %s", ["FILLED"]),
    ]

    def trade_list_floor(i: int) -> None:
        per_user()
        extra, params = trade_list_queries[i % len(trade_list_queries)]
        db.read(
            f"SELECT {TRADE_COLUMNS} FROM trades WHERE user_id = %s {extra} "
            "ORDER BY created_at DESC, id DESC LIMIT 21",
            [uid, *params],
        )

    def trade_get_floor(i: int) -> None:
        per_user()
        db.read(
            f"SELECT {TRADE_COLUMNS} FROM trades WHERE id = %s AND user_id = %s",
            [state.trade_ids[i % len(state.trade_ids)], uid],
        )

    def cancel_pending_floor(i: int) -> None:
        rate_count("write", f"user:{sid}")
        trade_id = state.pending_for_floor[i]
        db.write(
            [
                (
                    f"SELECT {TRADE_COLUMNS} FROM trades WHERE id = %s AND user_id = %s FOR UPDATE",
                    [trade_id, sid],
                ),
                (
                    "UPDATE trades SET status = %s, reason = %s, updated_at = %s "
                    "WHERE id = %s AND status = %s AND claimed_at IS NULL",
                    [
                        "CANCELED",
                        "Canceled before it reached the exchange",
                        now(),
                        trade_id,
                        "PENDING",
                    ],
                ),
            ]
        )
        get_redis().incr(key("ver", "dashboard", sid))

    def cancel_open_floor(i: int) -> None:
        rate_count("write", f"user:{uid}")
        trade_id = state.open_trade_ids[i % len(state.open_trade_ids)]
        db.write(
            [
                (
                    f"SELECT {TRADE_COLUMNS} FROM trades WHERE id = %s AND user_id = %s FOR UPDATE",
                    [trade_id, uid],
                ),
                (
                    "UPDATE trades SET cancel_requested_at = %s, updated_at = %s WHERE id = %s",
                    [now(), now(), trade_id],
                ),
            ]
        )
        sender.send(trade_id, uid)

    symbols = ["ADAUSDT", "BNBUSDT", "BTCUSDT", "DOGEUSDT", "ETHUSDT", "SOLUSDT", "XRPUSDT"]

    def dashboard_hit_floor(_i: int) -> None:
        per_user()
        cached_read_raw("dashboard", uid)
        read_prices_of(symbols)

    def dashboard_miss_floor(_i: int) -> None:
        per_user()
        cached_read_raw("dashboard", uid)
        db.read("SELECT id FROM api_credentials WHERE user_id = %s", [uid])
        db.read(
            "SELECT count(*) FROM trades WHERE user_id = %s AND status IN (%s, %s, %s)",
            [uid, "PENDING", "NEW", "PARTIALLY_FILLED"],
        )
        db.read("SELECT * FROM positions WHERE user_id = %s", [uid])
        db.read("SELECT asset, free, locked FROM paper_balances WHERE user_id = %s", [uid])
        get_redis().set(key("rt", "dashboard", uid, "0", "probe"), "{}", ex=300)
        read_prices_of(symbols)

    def invalidate_dashboard(_i: int) -> None:
        get_redis().incr(key("ver", "dashboard", uid))

    notes_cursor = _first_cursor(state, "notes_list", {"limit": "20"})
    trades_cursor = _first_cursor(state, "trades_list", {"limit": "20"})
    missing = str(uuid.uuid4())

    benches = [
        RouteBench(
            "health",
            [Variation("GET /health", lambda _i: event_for("health", None), 200, health_floor)],
        ),
        RouteBench(
            "auth_register",
            [Variation("new account", register_event, 201, register_floor)],
            kind="auth",
        ),
        RouteBench(
            "auth_login",
            [
                Variation("right password", login_event(False), 200, login_floor),
                Variation("right password", login_event(False), 200, login_floor),
                Variation("right password", login_event(False), 200, login_floor),
                Variation("wrong password", login_event(True), 401, login_floor),
                Variation("unknown email", unknown_email_event, 401, login_floor),
            ],
            kind="auth",
        ),
        RouteBench("auth_me", [Variation("me", get("auth_me"), 200, me_floor)]),
        RouteBench(
            "api_keys_put",
            [
                Variation(
                    "replace key",
                    lambda _i: event_for("api_keys_put", state.key_owner.token, body=key_body),
                    200,
                    keys_put_floor,
                )
            ],
            kind="write",
        ),
        RouteBench(
            "api_keys_get",
            [
                Variation(
                    "masked key",
                    lambda _i: event_for("api_keys_get", state.key_owner.token),
                    200,
                    keys_get_floor,
                )
            ],
        ),
        RouteBench(
            "api_keys_delete",
            [
                Variation(
                    "delete stored key",
                    lambda _i: event_for("api_keys_delete", state.key_deleter.token),
                    204,
                    keys_delete_floor,
                    prepare=store_deleter_key,
                    floor_prepare=store_deleter_key,
                ),
                Variation(
                    "delete, none stored",
                    lambda _i: event_for("api_keys_delete", state.key_deleter.token),
                    204,
                    keys_delete_floor,
                ),
            ],
            kind="write",
        ),
        RouteBench(
            "notes_list",
            [
                Variation(
                    "tag=btc limit=20",
                    get("notes_list", query={"limit": "20", "tag": "btc"}),
                    200,
                    notes_list_floor,
                ),
                Variation("first page", get("notes_list"), 200, notes_list_floor),
                Variation(
                    "pinned only",
                    get("notes_list", query={"pinned": "true"}),
                    200,
                    notes_list_floor,
                ),
                Variation(
                    "second page",
                    get("notes_list", query={"limit": "20", "cursor": notes_cursor}),
                    200,
                    notes_list_floor,
                ),
                Variation(
                    "after a change",
                    get("notes_list"),
                    200,
                    notes_list_miss_floor,
                    prepare=invalidate_notes,
                    floor_prepare=invalidate_notes,
                ),
            ],
        ),
        RouteBench(
            "notes_create",
            [
                Variation(
                    "pinned, two tags",
                    lambda _i: event_for(
                        "notes_create",
                        stoken,
                        body={
                            "title": "BTC breakout plan",
                            "content": "Buy on a daily close above resistance.",
                            "tags": ["btc", "plan"],
                            "is_pinned": True,
                        },
                    ),
                    201,
                    note_create_floor,
                )
            ],
            kind="write",
        ),
        RouteBench(
            "notes_get",
            [
                Variation(
                    "own note",
                    lambda i: event_for(
                        "notes_get", token, path_params={"note_id": state.note_ids[i % 50]}
                    ),
                    200,
                    note_get_floor,
                ),
                Variation(
                    "own note",
                    lambda i: event_for(
                        "notes_get", token, path_params={"note_id": state.note_ids[i % 50]}
                    ),
                    200,
                    note_get_floor,
                ),
                Variation(
                    "missing note",
                    lambda _i: event_for("notes_get", token, path_params={"note_id": missing}),
                    404,
                    note_get_floor,
                ),
            ],
        ),
        RouteBench(
            "notes_update",
            [
                Variation(
                    "unpin, retag",
                    lambda i: event_for(
                        "notes_update",
                        token,
                        path_params={"note_id": state.note_ids[i % 50]},
                        body={"is_pinned": False, "tags": ["btc", "review"]},
                    ),
                    200,
                    note_update_floor,
                )
            ],
            kind="write",
        ),
        RouteBench(
            "notes_delete",
            [
                Variation(
                    "own note",
                    lambda i: event_for(
                        "notes_delete", stoken, path_params={"note_id": state.notes_for_route[i]}
                    ),
                    204,
                    note_delete_floor,
                )
            ],
            kind="write",
        ),
        RouteBench("market_symbols", [Variation("all", get("market_symbols"), 200, symbols_floor)]),
        RouteBench("market_prices", [Variation("all", get("market_prices"), 200, prices_floor)]),
        RouteBench(
            "market_price",
            [
                Variation(
                    "BTCUSDT",
                    get("market_price", path_params={"symbol": "BTCUSDT"}),
                    200,
                    price_floor,
                ),
                Variation(
                    "ethusdt",
                    get("market_price", path_params={"symbol": "ethusdt"}),
                    200,
                    price_floor,
                ),
                Variation(
                    "unknown",
                    get("market_price", path_params={"symbol": "NOPEUSDT"}),
                    404,
                    price_floor,
                ),
            ],
        ),
        RouteBench(
            "trades_create",
            [
                Variation(
                    "LIMIT BUY", trade_create_event(trade_bodies[0], False), 202, trade_create_floor
                ),
                Variation(
                    "MARKET BUY by quote",
                    trade_create_event(trade_bodies[1], False),
                    202,
                    trade_create_floor,
                ),
                Variation(
                    "LIMIT SELL, Idempotency-Key",
                    trade_create_event(trade_bodies[2], True),
                    202,
                    trade_create_floor,
                ),
            ],
            kind="trade",
        ),
        RouteBench(
            "trades_list",
            [
                Variation(
                    "symbol=BTCUSDT limit=20",
                    get("trades_list", query={"limit": "20", "symbol": "BTCUSDT"}),
                    200,
                    trade_list_floor,
                ),
                Variation("first page", get("trades_list"), 200, trade_list_floor),
                Variation(
                    "status=FILLED",
                    get("trades_list", query={"status": "FILLED"}),
                    200,
                    trade_list_floor,
                ),
                Variation(
                    "second page",
                    get("trades_list", query={"limit": "20", "cursor": trades_cursor}),
                    200,
                    trade_list_floor,
                ),
            ],
        ),
        RouteBench(
            "trades_get",
            [
                Variation(
                    "own trade",
                    lambda i: event_for(
                        "trades_get", token, path_params={"trade_id": state.trade_ids[i % 200]}
                    ),
                    200,
                    trade_get_floor,
                )
            ],
        ),
        RouteBench(
            "trades_cancel",
            [
                Variation(
                    "queued trade",
                    lambda i: event_for(
                        "trades_cancel",
                        stoken,
                        path_params={"trade_id": state.pending_for_route[i]},
                    ),
                    202,
                    cancel_pending_floor,
                ),
                Variation(
                    "open order",
                    lambda i: event_for(
                        "trades_cancel",
                        token,
                        path_params={
                            "trade_id": state.open_trade_ids[i % len(state.open_trade_ids)]
                        },
                    ),
                    202,
                    cancel_open_floor,
                ),
            ],
            kind="write",
        ),
        RouteBench(
            "dashboard",
            [
                # One change per 12 reads (~10 orders a day against ~120 dashboard loads).
                *[Variation("cached", get("dashboard"), 200, dashboard_hit_floor)] * 11,
                Variation(
                    "after a change",
                    get("dashboard"),
                    200,
                    dashboard_miss_floor,
                    prepare=invalidate_dashboard,
                    floor_prepare=invalidate_dashboard,
                ),
            ],
        ),
    ]
    # notes_list: each read twice per change; a change makes every cached page stale at once.
    notes_list = next(b for b in benches if b.function == "notes_list")
    notes_list.variations = notes_list.variations[:-1] * 2 + notes_list.variations[-1:]
    return benches


def _first_cursor(state: WarmState, function: str, query: dict[str, str]) -> str:
    """The next_cursor of the first page, so a variation can ask for the second."""
    from devstack.functions import load_function
    from devstack.lambda_events import FakeLambdaContext

    response = load_function(function).handler(
        event_for(function, state.trader.token, query=query), FakeLambdaContext()
    )
    cursor: str = json.loads(response["body"])["next_cursor"]
    return cursor
