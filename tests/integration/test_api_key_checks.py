"""PUT /api/account/api-keys asks Binance about a key before storing it.

The Binance fake checks signatures (HMAC, Ed25519) as Binance does and serves binance.com and
the spot testnet on two addresses, the testnet without /sapi.
"""

from __future__ import annotations

from decimal import Decimal as D
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import (
    BestAvailableEncryption,
    Encoding,
    NoEncryption,
    PrivateFormat,
)
from sqlalchemy import select
from tradebot.accounts.sealing import open_value
from tradebot.db.engine import unit_of_work
from tradebot.db.models import ApiCredential

from tests.fakes.binance_keys import new_ed25519_pem, public_key_of
from tests.fakes.binance_server import API_RESTRICTIONS_PATH, BinanceFake
from tests.support import assert_problem, call, configure, error_fields
from tests.trading_support import (
    API_KEY,
    API_SECRET,
    WRONG_SECRET,
    OrderQueueHarness,
    get_trade,
    order_requests,
    placed,
    set_prices,
)

ACCOUNT_PATH = "/api/v3/account"
HMAC_BODY = {"api_key": API_KEY, "api_secret": API_SECRET, "testnet": True}
LIVE_BODY = {**HMAC_BODY, "testnet": False}
ED_KEY = "Ed25519KeyEd25519KeyEd25519Key0001"
User = tuple[str, str]


@pytest.fixture
def ed_pem(binance_fake: BinanceFake) -> str:
    """An Ed25519 private key whose public key is registered with Binance for ED_KEY."""
    pem = new_ed25519_pem()
    binance_fake.ed25519_keys[ED_KEY] = public_key_of(pem)
    return pem


def _stored(user_id: str) -> ApiCredential | None:
    with unit_of_work() as session:
        return session.scalar(select(ApiCredential).where(ApiCredential.user_id == user_id))


def _events(token: str, kind: str) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = call("account_events", token=token).body["items"]
    return [event for event in items if event["type"] == kind]


def _assert_refused(reply: Any, field: str, says: str) -> dict[str, Any]:
    problem = assert_problem(reply, 422)
    assert problem["type"] == "urn:tradebot:problem:key-refused"
    assert field in error_fields(reply)
    assert any(says in error["message"] for error in problem["errors"]), problem
    return problem


# --- accepted -----------------------------------------------------------------------------------


def test_a_testnet_key_is_checked_with_a_signed_account_read_only(
    binance_fake: BinanceFake, trader: User
) -> None:
    user_id, token = trader

    reply = call("api_keys_put", token=token, body=HMAC_BODY)

    assert reply.status == 200, reply.raw_body
    assert reply.body["key_type"] == "hmac"
    assert reply.body["status"] == "valid"
    assert reply.body["ip_restricted"] is None  # the testnet does not say
    assert reply.body["permissions"] == ["read", "spot"]
    (read,) = binance_fake.requests
    assert (read.method, read.path, read.testnet) == ("GET", ACCOUNT_PATH, True)
    assert {"timestamp", "signature"} <= set(read.params)
    assert _stored(user_id) is not None


def test_a_live_key_is_checked_for_its_permissions_too(
    binance_fake: BinanceFake, trader: User
) -> None:
    _, token = trader
    binance_fake.api_restrictions.update(ipRestrict=True, enableMargin=True)

    reply = call("api_keys_put", token=token, body=LIVE_BODY)

    assert reply.status == 200, reply.raw_body
    assert reply.body["ip_restricted"] is True
    assert reply.body["permissions"] == ["read", "spot", "margin"]
    assert [(r.path, r.testnet) for r in binance_fake.requests] == [
        (API_RESTRICTIONS_PATH, False),
        (ACCOUNT_PATH, False),
    ]
    assert call("api_keys_get", token=token).body == reply.body


def test_the_testnet_has_no_permissions_endpoint(binance_fake: BinanceFake) -> None:
    import httpx

    answer = httpx.get(f"{binance_fake.testnet_base_url}{API_RESTRICTIONS_PATH}", timeout=2)

    assert answer.status_code == 404


# --- refused --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("flag", "value", "says"),
    [
        ("enableWithdrawals", True, "can withdraw"),
        ("enableInternalTransfer", True, "can transfer between accounts"),
        ("permitsUniversalTransfer", True, "can transfer universally"),
        ("enableSpotAndMarginTrading", False, "cannot trade spot"),
        ("enableReading", False, "cannot read"),
    ],
)
def test_a_live_key_that_can_move_funds_or_cannot_trade_spot_is_refused_and_not_stored(
    flag: str, value: bool, says: str, binance_fake: BinanceFake, trader: User
) -> None:
    user_id, token = trader
    binance_fake.api_restrictions[flag] = value

    reply = call("api_keys_put", token=token, body=LIVE_BODY)

    _assert_refused(reply, "api_key", says)
    assert _stored(user_id) is None
    assert call("auth_me", token=token).body["trading_mode"] == "paper"
    (event,) = _events(token, "key_refused")
    assert says in event["detail"]
    assert "vmPU…Eh8A" in event["detail"]
    assert API_KEY not in event["detail"]
    assert API_SECRET not in reply.raw_body
    assert API_KEY not in reply.raw_body


def test_every_reason_is_named_at_once(binance_fake: BinanceFake, trader: User) -> None:
    _, token = trader
    binance_fake.api_restrictions.update(enableWithdrawals=True, enableSpotAndMarginTrading=False)

    problem = assert_problem(call("api_keys_put", token=token, body=LIVE_BODY), 422)

    messages = [error["message"] for error in problem["errors"]]
    assert any("can withdraw" in m for m in messages)
    assert any("cannot trade spot" in m for m in messages)


def test_an_account_that_cannot_trade_is_refused(binance_fake: BinanceFake, trader: User) -> None:
    user_id, token = trader
    binance_fake.can_trade = False

    _assert_refused(call("api_keys_put", token=token, body=HMAC_BODY), "api_key", "cannot trade")
    assert _stored(user_id) is None


@pytest.mark.parametrize("code", [-2014, -2015, -2008])
def test_a_key_binance_refuses_is_refused_naming_the_key(
    code: int, binance_fake: BinanceFake, trader: User
) -> None:
    user_id, token = trader
    binance_fake.fail_next(str(code), path=ACCOUNT_PATH)

    problem = _assert_refused(call("api_keys_put", token=token, body=HMAC_BODY), "api_key", "")
    assert f"code {code}" in problem["detail"]
    assert _stored(user_id) is None
    assert len(_events(token, "key_refused")) == 1


def test_an_unknown_key_is_refused(binance_fake: BinanceFake, trader: User) -> None:
    _, token = trader
    body = {**HMAC_BODY, "api_key": "Unknown" * 4}

    _assert_refused(call("api_keys_put", token=token, body=body), "api_key", "refused the key")


def test_a_secret_that_is_not_the_keys_is_refused_naming_the_secret(
    binance_fake: BinanceFake, trader: User
) -> None:
    _, token = trader
    body = {**HMAC_BODY, "api_secret": WRONG_SECRET}

    reply = call("api_keys_put", token=token, body=body)

    _assert_refused(reply, "api_secret", "signature is not valid")
    assert WRONG_SECRET not in reply.raw_body
    assert all(WRONG_SECRET not in e["detail"] for e in _events(token, "key_refused"))


def test_a_refused_replacement_leaves_the_stored_key_as_it_was(
    binance_fake: BinanceFake, trader: User
) -> None:
    user_id, token = trader
    assert call("api_keys_put", token=token, body=HMAC_BODY).status == 200
    before = _stored(user_id)
    binance_fake.can_trade = False

    assert_problem(call("api_keys_put", token=token, body=HMAC_BODY), 422)

    after = _stored(user_id)
    assert after is not None and before is not None
    assert (after.id, after.api_key_encrypted) == (before.id, before.api_key_encrypted)


# --- Binance not answering ------------------------------------------------------------------------


def test_an_unreachable_exchange_is_503_and_nothing_is_stored_or_recorded(
    monkeypatch: pytest.MonkeyPatch, trader: User
) -> None:
    user_id, token = trader
    with BinanceFake() as gone:
        url = gone.base_url  # a port nothing listens on once the fake stops
    configure(monkeypatch, binance_base_url=url, binance_testnet_base_url=url)

    reply = call("api_keys_put", token=token, body=HMAC_BODY)

    problem = assert_problem(reply, 503)
    assert "not stored" in problem["detail"]
    assert _stored(user_id) is None
    assert _events(token, "key_refused") == []
    assert _events(token, "key_stored") == []


def test_binance_failing_is_503_and_nothing_is_stored(
    binance_fake: BinanceFake, trader: User
) -> None:
    user_id, token = trader
    binance_fake.fail_next("503", count=2)

    assert_problem(call("api_keys_put", token=token, body=HMAC_BODY), 503)
    assert _stored(user_id) is None


def test_an_answer_that_cannot_be_used_is_502_and_nothing_is_stored(
    binance_fake: BinanceFake, monkeypatch: pytest.MonkeyPatch, trader: User
) -> None:
    # A live key sent to an address without /sapi (a misconfigured endpoint) gets a 404.
    user_id, token = trader
    configure(monkeypatch, binance_base_url=binance_fake.testnet_base_url)

    assert_problem(call("api_keys_put", token=token, body=LIVE_BODY), 502)
    assert _stored(user_id) is None


# --- Ed25519 --------------------------------------------------------------------------------------


@pytest.mark.parametrize("testnet", [True, False])
def test_an_ed25519_key_is_checked_and_stored_encrypted(
    testnet: bool, binance_fake: BinanceFake, ed_pem: str, trader: User
) -> None:
    user_id, token = trader
    body = {"api_key": ED_KEY, "private_key": ed_pem, "testnet": testnet}

    reply = call("api_keys_put", token=token, body=body)

    assert reply.status == 200, reply.raw_body
    assert reply.body["key_type"] == "ed25519"
    assert reply.body["status"] == "valid"
    assert ed_pem not in reply.raw_body
    assert binance_fake.requests[-1].path == ACCOUNT_PATH
    stored = _stored(user_id)
    assert stored is not None
    assert stored.key_type == "ed25519"
    assert "PRIVATE KEY" not in stored.api_secret_encrypted
    opened = open_value(stored.api_secret_encrypted, user_id, stored.id, "api_secret")
    assert opened.get_secret_value() == ed_pem
    assert call("api_keys_get", token=token).body["key_type"] == "ed25519"


def test_an_ed25519_key_signed_with_another_private_key_is_refused_naming_it(
    binance_fake: BinanceFake, ed_pem: str, trader: User
) -> None:
    _, token = trader
    other = new_ed25519_pem()

    reply = call("api_keys_put", token=token, body={"api_key": ED_KEY, "private_key": other})

    _assert_refused(reply, "private_key", "signature is not valid")
    assert other not in reply.raw_body


def _encrypted_pem() -> str:
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    key = Ed25519PrivateKey.generate()
    encryption = BestAvailableEncryption(b"passphrase")
    return key.private_bytes(Encoding.PEM, PrivateFormat.PKCS8, encryption).decode()


def _ec_pem(*, encrypted: bool) -> str:
    key = ec.generate_private_key(ec.SECP256R1())
    encryption = BestAvailableEncryption(b"x") if encrypted else NoEncryption()
    return key.private_bytes(Encoding.PEM, PrivateFormat.PKCS8, encryption).decode()


@pytest.mark.parametrize(
    ("pem", "says"),
    [
        ("not a pem at all", "is not a PEM private key"),
        ("-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n", "is not a PEM"),
        (_encrypted_pem(), "encrypted PEM"),
        (_ec_pem(encrypted=True), "encrypted PEM"),
        (_ec_pem(encrypted=False), "is not an Ed25519 private key"),
    ],
    ids=["garbage", "bad-base64", "encrypted", "encrypted-ec", "ec"],
)
def test_a_private_key_that_is_not_an_unencrypted_ed25519_pem_is_422_naming_it(
    pem: str, says: str, binance_fake: BinanceFake, trader: User
) -> None:
    _, token = trader

    reply = call("api_keys_put", token=token, body={"api_key": ED_KEY, "private_key": pem})

    problem = assert_problem(reply, 422)
    assert error_fields(reply) == ["private_key"]
    assert says in problem["errors"][0]["message"]
    assert pem.strip().splitlines()[1 if "\n" in pem.strip() else 0] not in reply.raw_body
    assert binance_fake.requests == []  # refused before Binance was asked


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"api_key": ED_KEY, "testnet": True}, "api_secret"),
        ({"api_key": ED_KEY, "api_secret": API_SECRET, "private_key": "PEM"}, "private_key"),
    ],
    ids=["neither", "both"],
)
def test_exactly_one_of_secret_and_private_key_is_given(
    body: dict[str, Any], field: str, binance_fake: BinanceFake, ed_pem: str, trader: User
) -> None:
    _, token = trader
    if "private_key" in body:
        body = {**body, "private_key": ed_pem}

    reply = call("api_keys_put", token=token, body=body)

    assert_problem(reply, 422)
    assert error_fields(reply) == [field]
    assert ed_pem not in reply.raw_body
    assert binance_fake.requests == []


def test_python_binance_signs_with_an_ed25519_key_that_binance_verifies(
    binance_fake: BinanceFake, ed_pem: str
) -> None:
    from pydantic import SecretStr
    from tradebot.exchange.base import OrderRequest
    from tradebot.exchange.binance import BinanceExchange

    exchange = BinanceExchange(
        ED_KEY, SecretStr(ed_pem), key_type="ed25519", base_url=binance_fake.base_url
    )
    try:
        placed = exchange.place_order(
            OrderRequest("BTCUSDT", "BUY", "MARKET", "ed25519order1", quantity=D("0.001"))
        )
        balances = {b.asset for b in exchange.balances()}
    finally:
        exchange.close()

    assert placed.status == "FILLED"
    assert {"BTC", "USDT"} <= balances
    order, account = binance_fake.requests[-2:]
    assert (order.path, account.path) == ("/api/v3/order", ACCOUNT_PATH)
    # Base64 (88 characters for 64 bytes), not HMAC's 64 hex digits.
    assert len(order.params["signature"]) == 88


def test_orders_of_an_ed25519_key_are_placed_through_the_queue(
    binance_fake: BinanceFake, ed_pem: str, order_queue: OrderQueueHarness, trader: User
) -> None:
    _, token = trader
    body = {"api_key": ED_KEY, "private_key": ed_pem, "testnet": True}
    assert call("api_keys_put", token=token, body=body).status == 200
    set_prices(**{symbol: str(price) for symbol, price in binance_fake.prices.items()})

    trade = placed(
        token, {"symbol": "BTCUSDT", "side": "BUY", "type": "MARKET", "quantity": "0.001"}
    )
    order_queue.drain()

    assert get_trade(token, trade["id"])["status"] == "FILLED"
    (placement,) = order_requests(binance_fake)
    assert placement.headers["x-mbx-apikey"] == ED_KEY
    assert placement.testnet is True


def test_key_checks_are_limited_per_user_before_binance_is_asked(
    binance_fake: BinanceFake, monkeypatch: pytest.MonkeyPatch, trader: User, other_trader: User
) -> None:
    # Each check spends request weight of the IP all users share (21 on binance.com).
    configure(monkeypatch, key_check_limit="2", key_check_window_s="600")
    _, token = trader
    wrong = {**HMAC_BODY, "api_secret": WRONG_SECRET}

    replies = [call("api_keys_put", token=token, body=wrong) for _ in range(3)]

    assert [r.status for r in replies] == [422, 422, 429]
    assert int(replies[-1].headers["retry-after"]) > 0
    assert len(binance_fake.requests) == 2
    assert call("api_keys_put", token=other_trader[1], body=HMAC_BODY).status == 200
