"""Every API route's sample event variations: the request, the status it must get, what to
prepare before it.

A route's calls cycle through its variations. Each variation's floor is what one call of it
really sent, recorded and replayed raw (bench/floor.py), plus the CPU work the route exists to
do (`work`: password hashing, key encryption); nothing here restates the routes' SQL.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from bench.data import PASSWORD, Account
from bench.rawdb import RawDb
from devstack.lambda_events import route_event

Event = dict[str, Any]


@dataclass
class Variation:
    """One kind of request a route gets, its expected status, and the CPU work of its floor."""

    name: str
    event: Callable[[int], Event]
    expect: int
    prepare: Callable[[int], object] | None = None  # untimed, before the route call
    work: Callable[[], object] | None = None  # timed in the floor, beside the replay


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
    note_ids: list[str]
    notes_for_route: list[str]
    db: RawDb
    run_id: str


def build(state: WarmState) -> list[RouteBench]:
    """The benches of every API route, in route-table order."""
    from tradebot.auth.passwords import hash_password, verify_password
    from tradebot.crypto.vault import get_vault

    from bench.live import ROUTE_KEY

    trader, uid, token = state.trader, state.trader.user_id, state.trader.token
    stoken = state.scratch.token
    password_hash = hash_password(PASSWORD)

    def get(function: str, **kw: Any) -> Callable[[int], Event]:
        return lambda _i: route_event(function, token, **kw)

    # The CPU work a route exists to do, part of its floor beside what it sends.
    def hash_one() -> None:
        hash_password(PASSWORD)

    def verify_one() -> None:
        verify_password(password_hash, PASSWORD)

    api_key, api_secret = ROUTE_KEY  # known to the bench's Binance fake, which checks it
    key_body: dict[str, Any] = {"api_key": api_key, "api_secret": api_secret, "testnet": True}

    def encrypt_key() -> None:
        vault = get_vault()
        vault.encrypt(api_key)
        vault.encrypt(api_secret)

    # auth ---------------------------------------------------------------------------------
    def register_event(i: int) -> Event:
        email = f"new-{state.run_id}-{i}@example.com"
        return route_event("auth_register", None, body={"email": email, "password": PASSWORD})

    def login_event(wrong: bool) -> Callable[[int], Event]:
        password = "not the password at all" if wrong else PASSWORD
        return lambda _i: route_event(
            "auth_login", None, body={"email": trader.email, "password": password}
        )

    def unknown_email_event(i: int) -> Event:
        # A new address each time: the per-(email, address) lockout never trips.
        body = {"email": f"nobody-{i}@example.com", "password": "not the password at all"}
        return route_event("auth_login", None, body=body)

    def login(name: str, event: Callable[[int], Event], expect: int) -> Variation:
        return Variation(name, event, expect, work=verify_one)

    # api keys -----------------------------------------------------------------------------
    def store_deleter_key(_i: int) -> None:
        from tradebot.accounts.keycheck import CheckedKey
        from tradebot.accounts.schemas import ApiKeyCreate
        from tradebot.accounts.service import store_api_key
        from tradebot.db.engine import unit_of_work

        with unit_of_work() as session:
            body = ApiKeyCreate.model_validate(key_body)
            checked = CheckedKey(None, ["read", "spot"])  # stored directly, unchecked
            store_api_key(session, state.key_deleter.user_id, body, checked)

    # caches -------------------------------------------------------------------------------
    def invalidate(namespace: str) -> Callable[[int], object]:
        from tradebot.cache.readthrough import invalidate as bump

        return lambda _i: bump(namespace, uid)

    # notes --------------------------------------------------------------------------------
    def own_note(function: str, **kw: Any) -> Callable[[int], Event]:
        return lambda i: route_event(
            function, token, path_params={"note_id": state.note_ids[i % 50]}, **kw
        )

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
            return route_event("trades_create", stoken, body=body, headers=headers)

        return make

    notes_cursor = _first_cursor(state, "notes_list", {"limit": "20"})
    trades_cursor = _first_cursor(state, "trades_list", {"limit": "20"})
    missing = str(uuid.uuid4())
    notes_change = Variation("after a change", get("notes_list"), 200, prepare=invalidate("notes"))
    notes_reads = [
        Variation("tag=btc limit=20", get("notes_list", query={"limit": "20", "tag": "btc"}), 200),
        Variation("first page", get("notes_list"), 200),
        Variation("pinned only", get("notes_list", query={"pinned": "true"}), 200),
        Variation(
            "second page", get("notes_list", query={"limit": "20", "cursor": notes_cursor}), 200
        ),
    ]
    return [
        RouteBench("health", [Variation("GET /health", lambda _i: route_event("health"), 200)]),
        RouteBench(
            "auth_register",
            [Variation("new account", register_event, 201, work=hash_one)],
            kind="auth",
        ),
        RouteBench(
            "auth_login",
            [
                *[login("right password", login_event(False), 200)] * 3,
                login("wrong password", login_event(True), 401),
                login("unknown email", unknown_email_event, 401),
            ],
            kind="auth",
        ),
        RouteBench("auth_me", [Variation("me", get("auth_me"), 200)]),
        RouteBench(
            "api_keys_put",
            [
                Variation(
                    "replace key",
                    lambda _i: route_event("api_keys_put", state.key_owner.token, body=key_body),
                    200,
                    work=encrypt_key,
                )
            ],
            kind="write",
        ),
        RouteBench(
            "api_keys_get",
            [
                Variation(
                    "masked key", lambda _i: route_event("api_keys_get", state.key_owner.token), 200
                )
            ],
        ),
        RouteBench(
            "api_keys_delete",
            [
                Variation(
                    "delete stored key",
                    lambda _i: route_event("api_keys_delete", state.key_deleter.token),
                    204,
                    prepare=store_deleter_key,
                ),
                Variation(
                    "delete, none stored",
                    lambda _i: route_event("api_keys_delete", state.key_deleter.token),
                    204,
                ),
            ],
            kind="write",
        ),
        # Each read twice per change; a change makes every cached page stale at once.
        RouteBench("notes_list", [*notes_reads, *notes_reads, notes_change]),
        RouteBench(
            "notes_create",
            [
                Variation(
                    "pinned, two tags",
                    lambda _i: route_event(
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
                )
            ],
            kind="write",
        ),
        RouteBench(
            "notes_get",
            [
                *[Variation("own note", own_note("notes_get"), 200)] * 2,
                Variation(
                    "missing note",
                    lambda _i: route_event("notes_get", token, path_params={"note_id": missing}),
                    404,
                ),
            ],
        ),
        RouteBench(
            "notes_update",
            [
                Variation(
                    "unpin, retag",
                    own_note("notes_update", body={"is_pinned": False, "tags": ["btc", "review"]}),
                    200,
                )
            ],
            kind="write",
        ),
        RouteBench(
            "notes_delete",
            [
                Variation(
                    "own note",
                    lambda i: route_event(
                        "notes_delete", stoken, path_params={"note_id": state.notes_for_route[i]}
                    ),
                    204,
                )
            ],
            kind="write",
        ),
        RouteBench("market_symbols", [Variation("all", get("market_symbols"), 200)]),
        RouteBench("market_prices", [Variation("all", get("market_prices"), 200)]),
        RouteBench(
            "market_price",
            [
                Variation("BTCUSDT", get("market_price", path_params={"symbol": "BTCUSDT"}), 200),
                Variation("ethusdt", get("market_price", path_params={"symbol": "ethusdt"}), 200),
                Variation("unknown", get("market_price", path_params={"symbol": "NOPEUSDT"}), 404),
            ],
        ),
        RouteBench(
            "trades_create",
            [
                Variation("LIMIT BUY", trade_create_event(trade_bodies[0], False), 202),
                Variation("MARKET BUY by quote", trade_create_event(trade_bodies[1], False), 202),
                Variation(
                    "LIMIT SELL, Idempotency-Key", trade_create_event(trade_bodies[2], True), 202
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
                ),
                Variation("first page", get("trades_list"), 200),
                Variation("status=FILLED", get("trades_list", query={"status": "FILLED"}), 200),
                Variation(
                    "second page",
                    get("trades_list", query={"limit": "20", "cursor": trades_cursor}),
                    200,
                ),
            ],
        ),
        RouteBench(
            "trades_get",
            [
                Variation(
                    "own trade",
                    lambda i: route_event(
                        "trades_get", token, path_params={"trade_id": state.trade_ids[i % 200]}
                    ),
                    200,
                )
            ],
        ),
        RouteBench(
            "trades_cancel",
            [
                Variation(
                    "queued trade",
                    lambda i: route_event(
                        "trades_cancel",
                        stoken,
                        path_params={"trade_id": state.pending_for_route[i]},
                    ),
                    202,
                ),
                Variation(
                    "open order",
                    lambda i: route_event(
                        "trades_cancel",
                        token,
                        path_params={
                            "trade_id": state.open_trade_ids[i % len(state.open_trade_ids)]
                        },
                    ),
                    202,
                ),
            ],
            kind="write",
        ),
        RouteBench(
            "dashboard",
            [
                # One change per 12 reads (~10 orders a day against ~120 dashboard loads).
                *[Variation("cached", get("dashboard"), 200)] * 11,
                Variation("after a change", get("dashboard"), 200, prepare=invalidate("dashboard")),
            ],
        ),
    ]


def _first_cursor(state: WarmState, function: str, query: dict[str, str]) -> str:
    """The next_cursor of the first page, so a variation can ask for the second."""
    from devstack.functions import load_function
    from devstack.lambda_events import FakeLambdaContext

    response = load_function(function).handler(
        route_event(function, state.trader.token, query=query), FakeLambdaContext()
    )
    cursor: str = json.loads(response["body"])["next_cursor"]
    return cursor
