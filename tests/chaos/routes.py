"""One valid request per route of the table, so an outage test can call every route as a client
would (a route missing here fails the coverage test instead of going untested)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import Any

from tradebot.http.routes import ROUTES

from tests.support import Reply, call

# Binance's documented example key and secret: the Binance fake of the trading tests knows them
# (the api-keys route asks Binance about a key before storing it).
API_KEY = "vmPUZE6mv9SD5VNHk4HlWFsOr6aKE2zvsw0MuIgwCIPy6utIco14y7Ju91duEh8A"
API_SECRET = "NhqPtmdSJYdKjVHjA7PZj4Mge3R5YNiP1e3UZjInClVN65XAbvqqM6A7H5fATj0j"
PASSWORD = "correct horse battery staple"
# Routes left out: the outage tests send every call with one token, which logging out would end
# (logout with Redis down: tests/integration/test_sessions.py).
NOT_CALLED = frozenset({"auth_logout"})


@dataclass(frozen=True)
class RouteCall:
    """How to call one route with a request that is valid apart from the outage."""

    function: str
    body: Any = None
    path_params: dict[str, str] = field(default_factory=dict)
    query: dict[str, str] = field(default_factory=dict)
    headers: dict[str, str] = field(default_factory=dict)

    def send(self, token: str | None, source_ip: str = "127.0.0.1") -> Reply:
        """Call the route's handler through Mangum, as API Gateway would."""
        return call(
            self.function,
            token=token,
            body=self.body,
            path_params=self.path_params or None,
            query=self.query or None,
            headers=self.headers or None,
            source_ip=source_ip,
        )


def route_calls(note_id: str | None = None, trade_id: str | None = None) -> list[RouteCall]:
    """A valid call of every route; ids default to ones that do not exist (a 404 normally)."""
    note = note_id or str(uuid.uuid4())
    trade = trade_id or str(uuid.uuid4())
    order = {
        "symbol": "BTCUSDT",
        "side": "BUY",
        "type": "LIMIT",
        "quantity": "0.001",
        "price": "90000",
    }
    calls = [
        RouteCall("health"),
        RouteCall(
            "auth_register", body={"email": f"{uuid.uuid4().hex}@ex.com", "password": PASSWORD}
        ),
        RouteCall("auth_login", body={"email": "trader@example.com", "password": PASSWORD}),
        RouteCall("auth_me"),
        RouteCall("limits_get"),
        RouteCall("limits_put", body={"max_open_orders": 5}),
        RouteCall(
            "api_keys_put", body={"api_key": API_KEY, "api_secret": API_SECRET, "testnet": True}
        ),
        RouteCall("api_keys_get"),
        RouteCall("api_keys_delete"),
        RouteCall("twofa_start"),
        RouteCall("twofa_confirm", body={"otp": "123456"}),
        RouteCall("twofa_disable", body={"password": PASSWORD}),
        RouteCall("account_events", query={"limit": "10"}),
        RouteCall("notes_list", query={"limit": "10"}),
        RouteCall("notes_create", body={"title": "Outage", "content": "written during an outage"}),
        RouteCall("notes_get", path_params={"note_id": note}),
        RouteCall("notes_update", path_params={"note_id": note}, body={"is_pinned": True}),
        RouteCall("notes_delete", path_params={"note_id": note}),
        RouteCall("market_symbols"),
        RouteCall("market_prices"),
        RouteCall("market_price", path_params={"symbol": "BTCUSDT"}),
        RouteCall(
            "market_price_history", path_params={"symbol": "BTCUSDT"}, query={"window": "1h"}
        ),
        RouteCall("trades_create", body=order, headers={"Idempotency-Key": uuid.uuid4().hex}),
        RouteCall("trades_list", query={"limit": "10"}),
        RouteCall("trades_get", path_params={"trade_id": trade}),
        RouteCall("trades_cancel", path_params={"trade_id": trade}),
        RouteCall("trades_cancel_all"),
        RouteCall("dashboard"),
        # With an unknown refresh cookie, a wrong password: refused, never a 5xx.
        RouteCall("auth_refresh", headers={"Cookie": f"__Host-refresh={uuid.uuid4().hex}"}),
        RouteCall("sessions_list", query={"limit": "10"}),
        RouteCall("sessions_delete", path_params={"session_id": str(uuid.uuid4())}),
        RouteCall(
            "password_change",
            body={"current_password": "not the password", "new_password": "a new passphrase"},
        ),
        RouteCall("account_delete", body={"password": "not the password"}),
    ]
    missing = {r.function for r in ROUTES} - {c.function for c in calls} - NOT_CALLED
    assert not missing, f"routes without a chaos call: {sorted(missing)}"
    return calls
