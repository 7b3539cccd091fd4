"""Mass assignment: no request body may set a field the server owns, and nothing but the
api-keys routes changes anyone's trading mode.

The body routes come from the route table; a new one must get a valid body here before the
guard test passes, and is then covered by every case.
"""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from sqlalchemy import func, select
from tradebot.db.engine import unit_of_work
from tradebot.db.models import ApiCredential, Note, RecoveryCode, Trade, TwoFactor, User
from tradebot.http.routes import ROUTES, Route

from devstack.functions import load_function
from tests.security.conftest import User as Account
from tests.support import assert_problem, call, error_fields
from tests.trading_support import API_KEY, API_SECRET

PASSWORD = "correct horse battery staple"

# A body each route accepts as it is: the refusal below is then due to the added field alone.
VALID: dict[str, dict[str, Any]] = {
    "auth_register": {"email": "newcomer@example.com", "password": PASSWORD},
    "auth_login": {"email": "alice@example.com", "password": PASSWORD},
    "api_keys_put": {"api_key": API_KEY, "api_secret": API_SECRET, "testnet": True},
    "limits_put": {"max_open_orders": 5},
    "twofa_confirm": {"otp": "123456"},
    "twofa_disable": {"password": PASSWORD},
    "account_delete": {"password": PASSWORD},
    "password_change": {"current_password": PASSWORD, "new_password": "a different passphrase"},
    "notes_create": {"title": "plan"},
    "notes_update": {"title": "new plan"},
    "trades_create": {"symbol": "BTCUSDT", "side": "BUY", "type": "MARKET", "quantity": "0.0001"},
}
# Fields the server owns, with values an attacker would like to set.
SERVER_OWNED: dict[str, Any] = {
    "user_id": "victim-user-id",
    "id": str(uuid.uuid4()),
    "status": "FILLED",
    "executed_qty": "1",
    "avg_price": "0.01",
    "fee": "0",
    "fee_asset": "BNB",
    "created_at": "2020-01-01T00:00:00Z",
    "updated_at": "2020-01-01T00:00:00Z",
    "trading_mode": "live",
    "client_order_id": "mine",
    "exchange_order_id": "1",
    "password_hash": "$argon2id$forged",
    "is_admin": True,
}


def _reads_a_body(route: Route) -> bool:
    # A POST that reads no body at all (cancel-all) takes nothing from one that could be set.
    operation = load_function(route.function).route.app.openapi()["paths"][route.path]
    return "requestBody" in operation[route.method.lower()]


# A DELETE may read a body too (the password that turns 2FA off).
BODY_ROUTES = [r for r in ROUTES if r.method != "GET" and _reads_a_body(r)]
CASES = [(route, name) for route in BODY_ROUTES for name in SERVER_OWNED]


def _rows() -> dict[str, int]:
    with unit_of_work() as session:
        return {
            model.__tablename__: session.scalar(select(func.count()).select_from(model)) or 0
            for model in (User, Note, Trade, ApiCredential, TwoFactor, RecoveryCode)
        }


def test_every_body_route_has_a_valid_body_here() -> None:
    assert {r.function for r in BODY_ROUTES} == set(VALID)


@pytest.mark.usefixtures("prices")
@pytest.mark.parametrize(
    ("route", "name"), CASES, ids=[f"{r.function}-{name}" for r, name in CASES]
)
def test_a_server_owned_field_in_a_body_is_422_naming_it_and_changes_nothing(
    route: Route, name: str, alice: Account
) -> None:
    _, token = alice
    note = call("notes_create", token=token, body={"title": "original"}).body
    path_params = {"note_id": note["id"]} if "{note_id}" in route.path else None
    before = _rows()

    reply = call(
        route.function,
        token=token if route.auth else None,
        body={**VALID[route.function], name: SERVER_OWNED[name]},
        path_params=path_params,
    )

    assert_problem(reply, 422)
    assert error_fields(reply) == [name]
    assert _rows() == before
    assert call("notes_get", token=token, path_params={"note_id": note["id"]}).body == note


def _mode(token: str) -> str:
    return str(call("auth_me", token=token).body["trading_mode"])


def _try_every_route_with_mode_in_the_query(token: str) -> None:
    # Logging out would end the session the rest of the test goes on with.
    for route in (r for r in ROUTES if r.function != "auth_logout"):
        path_params = {
            part[1:-1]: str(uuid.uuid4()) for part in route.path.split("/") if part[:1] == "{"
        }
        call(
            route.function,
            token=token if route.auth else None,
            body=VALID.get(route.function),
            path_params=path_params,
            query={"trading_mode": "live", "mode": "live", "user_id": "x"},
        )


@pytest.mark.usefixtures("prices", "binance_fake")  # Binance checks the key before it is stored
def test_only_the_api_keys_routes_change_the_trading_mode_and_only_the_callers(
    alice: Account, mallory: Account
) -> None:
    _, alice_token = alice
    _, mallory_token = mallory

    # Every route, with the mode (and another user) offered in the query: nothing changes
    _try_every_route_with_mode_in_the_query(mallory_token)
    assert (_mode(alice_token), _mode(mallory_token)) == ("paper", "paper")

    # Storing a key makes the caller live, and no one else
    stored = call("api_keys_put", token=mallory_token, body=VALID["api_keys_put"])
    assert stored.status == 200, stored.raw_body
    assert (_mode(alice_token), _mode(mallory_token)) == ("paper", "live")

    # Forgetting it brings the caller back to paper
    assert call("api_keys_delete", token=mallory_token).status == 204
    assert (_mode(alice_token), _mode(mallory_token)) == ("paper", "paper")
