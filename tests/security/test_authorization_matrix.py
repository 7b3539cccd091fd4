"""Who may call what: another user's resource is 404 like a missing one; every `/api` route
but register, login and refresh requires a token, and each kind of bad token is refused with 401.

Every route shares one token check (tradebot.http.deps), so the twelve kinds of bad token are
tried against one route, and every token-protected route against a missing and a forged token.
Both are generated from the route table, so a route added to it is covered (or the table guard
below fails and says what to add).
"""

from __future__ import annotations

import base64
import json
import time
import uuid
from collections.abc import Callable
from typing import Any

import pytest
from tradebot.http.routes import ROUTES, Route

from tests.security.conftest import User
from tests.support import assert_problem, call, sign_token, token_claims

# The HS512 forgery uses the real (256-bit) key; PyJWT warns that it is short for SHA-512.
pytestmark = pytest.mark.filterwarnings("ignore::jwt.warnings.InsecureKeyLengthWarning")

# --- another user's resources ---------------------------------------------------------------


def _own_note(token: str) -> str:
    reply = call("notes_create", token=token, body={"title": "my plan", "tags": ["btc"]})
    assert reply.status == 201, reply.raw_body
    return str(reply.body["id"])


def _own_trade(token: str) -> str:
    order = {"symbol": "BTCUSDT", "side": "BUY", "type": "LIMIT", "quantity": "0.01"}
    reply = call("trades_create", token=token, body={**order, "price": "50000"})
    assert reply.status == 202, reply.raw_body
    return str(reply.body["id"])


def _own_session(token: str) -> str:
    from tradebot.auth.tokens import read_access_token

    session_id = read_access_token(token).session_id
    assert session_id is not None
    return session_id


# How to create, as its owner, what each path parameter names.
OWNED: dict[str, Callable[[str], str]] = {
    "note_id": _own_note,
    "trade_id": _own_trade,
    "session_id": _own_session,
}
# Path parameters that name something public, not something a user owns.
PUBLIC = {"symbol"}
# A body each id route with a body accepts, so a refusal is about the id alone.
BODIES: dict[str, dict[str, Any]] = {"notes_update": {"title": "hijacked", "is_pinned": True}}
# How the owner reads each kind of resource back, to see that nothing changed.
READ_BACK = {"note_id": "notes_get", "trade_id": "trades_get", "session_id": "sessions_list"}


def _path_names(route: Route) -> list[str]:
    return [part[1:-1] for part in route.path.split("/") if part.startswith("{")]


ID_ROUTES = [r for r in ROUTES if any(name in OWNED for name in _path_names(r))]


def test_every_path_parameter_is_owned_or_public() -> None:
    names = {name for route in ROUTES for name in _path_names(route)}

    assert names - OWNED.keys() - PUBLIC == set(), "add a factory to OWNED for new id routes"
    assert {r.function for r in ID_ROUTES} >= {
        "notes_get",
        "notes_update",
        "notes_delete",
        "trades_get",
        "trades_cancel",
        "sessions_delete",
    }
    assert all(r.method not in ("POST", "PUT", "PATCH") or r.function in BODIES for r in ID_ROUTES)


@pytest.mark.usefixtures("prices")
@pytest.mark.parametrize("route", ID_ROUTES, ids=[r.function for r in ID_ROUTES])
def test_another_users_resource_is_404_exactly_like_a_missing_one(
    route: Route, alice: User, mallory: User
) -> None:
    # Given a resource of Alice's for every id in the path
    _, alice_token = alice
    _, mallory_token = mallory
    names = _path_names(route)
    owned = {name: OWNED[name](alice_token) for name in names}
    before = {name: call(READ_BACK[name], token=alice_token, path_params={name: value}).body
              for name, value in owned.items()}  # fmt: skip
    body = BODIES.get(route.function)

    # When Mallory calls the route with Alice's ids, and with ids that exist nowhere
    intruding = call(route.function, token=mallory_token, path_params=owned, body=body)
    missing = {name: str(uuid.uuid4()) for name in names}
    nowhere = call(route.function, token=mallory_token, path_params=missing, body=body)

    # Then both are the same 404: nothing tells her that Alice's exists
    assert_problem(intruding, 404)
    assert intruding.body == nowhere.body
    # And Alice's resource is untouched
    for name, value in owned.items():
        after = call(READ_BACK[name], token=alice_token, path_params={name: value})
        assert after.status == 200
        assert after.body == before[name]


# --- bad tokens ------------------------------------------------------------------------------

AUTH_ROUTES = [r for r in ROUTES if r.auth]
OTHER_KEY = "another-deployments-jwt-key-" + "k" * 36


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def _tampered(user_id: str, victim_id: str) -> str:
    """A real token of `user_id` whose payload now names `victim_id`; the signature is kept."""
    header, _, signature = sign_token(token_claims(user_id)).split(".")
    payload = _b64(json.dumps(token_claims(victim_id)).encode())
    return f"{header}.{payload}.{signature}"


def _expired(user_id: str) -> str:
    now = int(time.time())
    return sign_token(token_claims(user_id, iat=now - 7200, exp=now - 3600))


BEARER: dict[str, Callable[[str, str], str | None]] = {
    "missing": lambda _u, _v: None,
    "empty": lambda _u, _v: "Bearer ",
    "garbage": lambda _u, _v: "Bearer not.a.token",
    "basic-scheme": lambda _u, _v: "Basic YWxpY2U6c2VjcmV0",
    "expired": lambda u, _v: f"Bearer {_expired(u)}",
    "forged-signature": lambda u, v: f"Bearer {_tampered(u, v)}",
    "alg-none": lambda u, _v: f"Bearer {sign_token(token_claims(u), algorithm='none')}",
    "wrong-audience": lambda u, _v: f"Bearer {sign_token(token_claims(u, aud='other-api'))}",
    "wrong-issuer": lambda u, _v: f"Bearer {sign_token(token_claims(u, iss='someone-else'))}",
    "other-key": lambda u, _v: f"Bearer {sign_token(token_claims(u), key=OTHER_KEY)}",
    "no-expiry": lambda u, _v: f"Bearer {sign_token(token_claims(u, exp=None))}",
    "hs512": lambda u, _v: f"Bearer {sign_token(token_claims(u), algorithm='HS512')}",
}
# The route the kinds of bad token are tried on: it has a body and a path parameter, so the
# token is checked before either is read.
PROBE = next(r for r in AUTH_ROUTES if r.function == "notes_update")


def test_the_public_api_routes_are_exactly_register_login_and_refresh() -> None:
    public = {r.function for r in ROUTES if r.path.startswith("/api/") and not r.auth}

    # Refresh authenticates with its cookie instead (tests/integration/test_sessions.py).
    assert public == {"auth_register", "auth_login", "auth_refresh"}
    assert len(BEARER) == 12
    assert all(r.path.startswith("/api/") for r in AUTH_ROUTES)


def _refused(route: Route, authorization: str | None) -> None:
    headers = {"Authorization": authorization} if authorization is not None else None
    body: dict[str, str] | None = {} if route.method in ("POST", "PUT", "PATCH") else None
    path_params = {name: str(uuid.uuid4()) for name in _path_names(route)}

    reply = call(route.function, headers=headers, body=body, path_params=path_params)

    assert_problem(reply, 401)
    assert reply.headers["www-authenticate"] == "Bearer"
    credential = (authorization or "").partition(" ")[2]
    assert len(credential) < 8 or credential not in reply.raw_body  # never echoed


@pytest.mark.parametrize("kind", list(BEARER))
def test_each_kind_of_bad_token_is_401_problem_with_www_authenticate(
    kind: str, alice: User, mallory: User
) -> None:
    # Mallory's own (valid) identity is the base of every forgery; Alice is the target.
    alice_id, _ = alice
    mallory_id, _ = mallory

    _refused(PROBE, BEARER[kind](mallory_id, alice_id))


@pytest.mark.parametrize("kind", ["missing", "forged-signature"])
@pytest.mark.parametrize("route", AUTH_ROUTES, ids=[r.function for r in AUTH_ROUTES])
def test_every_api_route_requires_a_valid_token(
    route: Route, kind: str, alice: User, mallory: User
) -> None:
    alice_id, _ = alice
    mallory_id, _ = mallory

    _refused(route, BEARER[kind](mallory_id, alice_id))
