"""Stored exchange keys are sealed to their owner with KMS data keys (moto's KMS server): the
executor trades with them, and a key copied into another user's row is never used.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import select, update
from tradebot.accounts.sealing import NOT_BOUND
from tradebot.crypto.envelope import KMS, kms_client, parse
from tradebot.crypto.vault import get_vault
from tradebot.db.engine import unit_of_work
from tradebot.db.models import ApiCredential, SecurityEvent
from tradebot.orders.executor import Executor
from tradebot.orders.messages import OrderMessage

from tests.fakes.binance_server import BinanceFake
from tests.integration.conftest import moto_client, use_moto
from tests.support import assert_problem, call
from tests.trading_support import API_KEY, API_SECRET, new_trader, store_key

# Bob's own Binance account, known to the fake beside Alice's (API_KEY).
BOB_KEY = "BobKey" + "b" * 58
BOB_SECRET = "BobSecret" + "s" * 55
MARKET_BUY = {"symbol": "BTCUSDT", "side": "BUY", "type": "MARKET", "quantity": "0.001"}


@pytest.fixture
def kms_key(moto_endpoint: str, monkeypatch: pytest.MonkeyPatch) -> str:
    """A customer-managed key on moto's KMS server; the application seals with it."""
    kms = moto_client("kms", moto_endpoint)
    key_arn: str = kms.create_key(Description="tradebot stored exchange keys")["KeyMetadata"]["Arn"]
    use_moto(monkeypatch, moto_endpoint, kms_key_id=key_arn)
    return key_arn


@pytest.fixture
def kms_calls() -> Iterator[list[str]]:
    """The KMS operations the application's client sends, in order (botocore's event hook)."""
    calls: list[str] = []

    def record(model: Any, **_: Any) -> None:
        calls.append(model.name)

    events = kms_client().meta.events
    events.register("before-call.kms", record)
    yield calls
    events.unregister("before-call.kms", record)


@pytest.fixture
def accounts(binance_fake: BinanceFake) -> BinanceFake:
    """The fake knows Bob's key as well as Alice's; prices are cached."""
    from tradebot.market.updater import refresh_prices

    binance_fake.other_keys[BOB_KEY] = BOB_SECRET
    refresh_prices()
    return binance_fake


def _credential(user_id: str) -> ApiCredential:
    with unit_of_work() as session:
        credential = session.scalar(select(ApiCredential).where(ApiCredential.user_id == user_id))
        assert credential is not None
        return credential


def _copy_key(source: str, target: str) -> None:
    """The attack: another user's stored ciphertexts copied into this user's row."""
    stolen = _credential(source)
    with unit_of_work() as session:
        session.execute(
            update(ApiCredential)
            .where(ApiCredential.user_id == target)
            .values(
                api_key_encrypted=stolen.api_key_encrypted,
                api_secret_encrypted=stolen.api_secret_encrypted,
                api_key_hint=stolen.api_key_hint,
            )
        )


def _with_key(fake: BinanceFake, api_key: str) -> list[Any]:
    return [r for r in fake.requests if r.headers.get("x-mbx-apikey") == api_key]


def _execute(trade_id: str) -> dict[str, Any]:
    Executor().execute(OrderMessage(trade_id=trade_id, action="place"))
    with unit_of_work() as session:
        from tradebot.db.models import Trade

        trade = session.get(Trade, trade_id)
        assert trade is not None
        return {"status": trade.status, "reason": trade.reason}


@pytest.mark.usefixtures("kms_key")
def test_a_stored_key_is_sealed_with_a_kms_data_key_and_the_executor_trades_with_it(
    accounts: BinanceFake,
) -> None:
    alice, token = new_trader("alice@example.com")
    store_key(token)

    placed = call("trades_create", token=token, body=MARKET_BUY)
    assert placed.status == 202, placed.raw_body

    assert _execute(placed.body["id"])["status"] == "FILLED"
    assert len(accounts.placed_orders) == 1
    stored = _credential(alice)
    assert parse(stored.api_key_encrypted).provider == KMS
    assert parse(stored.api_secret_encrypted).provider == KMS


@pytest.mark.usefixtures("kms_key")
def test_a_key_copied_into_another_users_row_is_never_used_for_an_accepted_order(
    accounts: BinanceFake, caplog: pytest.LogCaptureFixture
) -> None:
    # Given Alice and Bob with their own keys, and an order Bob placed with his
    alice, alice_token = new_trader("alice@example.com")
    bob, bob_token = new_trader("bob@example.com")
    store_key(alice_token)
    store_key(bob_token, BOB_KEY, BOB_SECRET)
    accepted = call("trades_create", token=bob_token, body=MARKET_BUY)
    assert accepted.status == 202, accepted.raw_body
    alices_requests = len(_with_key(accounts, API_KEY))

    # When Alice's ciphertexts are copied into Bob's row before the executor runs
    _copy_key(alice, bob)
    with caplog.at_level(logging.INFO):
        outcome = _execute(accepted.body["id"])

    # Then nothing reached Binance with Alice's key on Bob's behalf
    assert len(_with_key(accounts, API_KEY)) == alices_requests
    assert accounts.placed_orders == []
    # the order failed cleanly, saying why, and the credential is marked invalid
    assert outcome == {"status": "FAILED", "reason": NOT_BOUND}
    refused = _credential(bob)
    assert refused.invalidated_at is not None
    assert refused.invalid_reason == NOT_BOUND
    # a security event and a log line record it, without key, secret or ciphertext
    with unit_of_work() as session:
        events = list(session.scalars(select(SecurityEvent).where(SecurityEvent.user_id == bob)))
    assert [e.type for e in events if e.type == "key_invalidated"] == ["key_invalidated"]
    logged = caplog.text + " ".join(str(e.detail) for e in events)
    assert "failed its binding check" in caplog.text
    for secret in (API_KEY, API_SECRET, refused.api_key_encrypted, refused.api_secret_encrypted):
        assert secret not in logged
    # and a later order is refused up front (400), never queued with Alice's key
    again = call("trades_create", token=bob_token, body=MARKET_BUY)
    body = assert_problem(again, 400)
    assert body["detail"] == NOT_BOUND
    assert len(_with_key(accounts, API_KEY)) == alices_requests


@pytest.mark.usefixtures("kms_key")
def test_a_copied_key_is_refused_by_the_order_route_and_marked_invalid(
    accounts: BinanceFake,
) -> None:
    alice, alice_token = new_trader("alice@example.com")
    bob, bob_token = new_trader("bob@example.com")
    store_key(alice_token)
    store_key(bob_token, BOB_KEY, BOB_SECRET)
    _copy_key(alice, bob)
    alices_requests = len(_with_key(accounts, API_KEY))  # the check before her key was stored

    reply = call("trades_create", token=bob_token, body=MARKET_BUY)
    dashboard = call("dashboard", token=bob_token)

    assert_problem(reply, 400)
    assert_problem(dashboard, 400)
    assert len(_with_key(accounts, API_KEY)) == alices_requests
    assert _credential(bob).invalid_reason == NOT_BOUND
    assert _credential(alice).invalidated_at is None  # Alice's own key is untouched
    assert call("dashboard", token=alice_token).status == 200


@pytest.mark.usefixtures("kms_key", "accounts")
def test_warm_orders_pay_no_kms_call_to_open_the_key(kms_calls: list[str]) -> None:
    _, token = new_trader("alice@example.com")
    store_key(token)
    assert kms_calls == ["GenerateDataKey", "GenerateDataKey"]  # one data key per value
    kms_calls.clear()

    for _ in range(3):
        placed = call("trades_create", token=token, body=MARKET_BUY)
        assert _execute(placed.body["id"])["status"] == "FILLED"

    # The first decrypt of the key and the secret unwraps two data keys; the rest are cached.
    assert kms_calls == ["Decrypt", "Decrypt"]


@pytest.mark.usefixtures("accounts")
def test_a_legacy_fernet_row_still_trades_until_rotated_then_is_bound(
    kms_key: str,
) -> None:
    from tradebot.crypto.rotate import rotate_all

    # Given a key stored before v2: Fernet tokens, bound to nothing
    alice, token = new_trader("alice@example.com")
    store_key(token)
    vault = get_vault()
    with unit_of_work() as session:
        session.execute(
            update(ApiCredential)
            .where(ApiCredential.user_id == alice)
            .values(
                api_key_encrypted=vault.encrypt(API_KEY),
                api_secret_encrypted=vault.encrypt(API_SECRET),
            )
        )
    placed = call("trades_create", token=token, body=MARKET_BUY)
    assert _execute(placed.body["id"])["status"] == "FILLED"

    # When the keys are rotated
    report = rotate_all()

    # Then the row is a KMS envelope bound to Alice, and trading goes on
    assert (report.rewritten, report.from_fernet, report.refused) == (1, 1, 0)
    stored = _credential(alice)
    assert parse(stored.api_key_encrypted).provider == KMS
    assert parse(stored.api_key_encrypted).key_id == kms_key
    placed = call("trades_create", token=token, body=MARKET_BUY)
    assert _execute(placed.body["id"])["status"] == "FILLED"


@pytest.mark.usefixtures("kms_key")
def test_a_copied_key_never_cancels_or_syncs_an_open_order(accounts: BinanceFake) -> None:
    # Given Bob's resting order, placed with his own key
    alice, alice_token = new_trader("alice@example.com")
    bob, bob_token = new_trader("bob@example.com")
    store_key(alice_token)
    store_key(bob_token, BOB_KEY, BOB_SECRET)
    limit = {**MARKET_BUY, "type": "LIMIT", "quantity": "0.0015", "price": "90000.50"}
    accepted = call("trades_create", token=bob_token, body=limit)
    assert _execute(accepted.body["id"])["status"] == "NEW"
    trade_id = accepted.body["id"]

    # When Alice's ciphertexts replace Bob's, and Bob cancels, and his orders are synced
    _copy_key(alice, bob)
    alices_requests = len(_with_key(accounts, API_KEY))  # the check before her key was stored
    assert call("trades_cancel", token=bob_token, path_params={"trade_id": trade_id}).status == 202
    Executor().execute(OrderMessage(trade_id=trade_id, action="cancel"))
    Executor().execute(OrderMessage(action="sync_user", user_id=bob))

    # Then Binance never heard from Alice's key again; the cancel says why it was not done
    assert len(_with_key(accounts, API_KEY)) == alices_requests
    with unit_of_work() as session:
        from tradebot.db.models import Trade

        trade = session.get(Trade, trade_id)
        assert trade is not None
        assert trade.status == "NEW"
        assert trade.reason == f"The cancel could not be carried out: {NOT_BOUND}"
    assert _credential(bob).invalid_reason == NOT_BOUND


def test_kms_itself_refuses_a_data_key_asked_for_under_another_context(kms_key: str) -> None:
    # The binding does not rest on AES-GCM alone: KMS will not even unwrap the data key.
    from tradebot.crypto.envelope import KmsKey, SealBroken

    context = {"user_id": "alice", "credential_id": "cred-1", "purpose": "api_key"}
    data_key, key_id, wrapped = KmsKey(kms_key).new_data_key(context)

    assert KmsKey(key_id).unwrap(key_id, wrapped, context) == data_key
    with pytest.raises(SealBroken):
        KmsKey(key_id).unwrap(key_id, wrapped, {**context, "user_id": "bob"})
