"""Key rotation as an operator runs it: add the new key first, `make rotate`, drop the old key.
Every stored secret is re-sealed bound to its owner and still decrypts (rows written as Fernet
before v2 included), and paper and live trading carry on.
"""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select, update
from tradebot.accounts.service import load_credentials
from tradebot.crypto.rotate import rotate_all
from tradebot.crypto.vault import generate_key, get_vault
from tradebot.db.engine import unit_of_work
from tradebot.db.models import ApiCredential
from tradebot.orders.executor import Executor
from tradebot.orders.messages import OrderMessage

from tests.conftest import TEST_FERNET_KEY
from tests.fakes.binance_server import BinanceFake
from tests.security.conftest import User
from tests.support import call, configure
from tests.trading_support import API_KEY, API_SECRET, new_trader

MARKET_BUY = {"symbol": "BTCUSDT", "side": "BUY", "type": "MARKET", "quantity": "0.001"}
# Keys of more users, so rotation is seen to rewrite every row, not just one.
OTHER_KEYS = {
    f"holder{n}@example.com": (f"holder{n}KEY" * 4, f"holder{n}SECRET" * 4) for n in range(3)
}


def _filled(token: str) -> dict[str, Any]:
    """Place a market buy through the route and the executor; the trade afterwards."""
    placed = call("trades_create", token=token, body=MARKET_BUY)
    assert placed.status == 202, placed.raw_body
    Executor().execute(OrderMessage(trade_id=placed.body["id"], action="place"))
    trade = call("trades_get", token=token, path_params={"trade_id": placed.body["id"]}).body
    assert isinstance(trade, dict)
    return trade


def _ciphertexts() -> set[str]:
    with unit_of_work() as session:
        rows = session.execute(
            select(ApiCredential.api_key_encrypted, ApiCredential.api_secret_encrypted)
        )
        return {token for row in rows for token in row}


@pytest.mark.usefixtures("prices")
def test_after_rotation_the_new_key_alone_decrypts_everything_and_trading_continues(
    binance_fake: BinanceFake, alice: User, mallory: User, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given Alice trading on paper, Mallory live with a stored key, and more stored keys
    _, paper_token = alice
    _, live_token = mallory
    binance_fake.other_keys.update(dict(OTHER_KEYS.values()))  # Binance knows each key
    key = {"api_key": API_KEY, "api_secret": API_SECRET, "testnet": True}
    assert call("api_keys_put", token=live_token, body=key).status == 200
    stored = {}
    for email, (api_key, api_secret) in OTHER_KEYS.items():
        user_id, token = new_trader(email)
        body = {"api_key": api_key, "api_secret": api_secret}
        assert call("api_keys_put", token=token, body=body).status == 200
        stored[user_id] = (api_key, api_secret)
    shown_before = call("api_keys_get", token=live_token).body
    assert _filled(live_token)["status"] == "FILLED"
    # (one holder's key as the code before v2 stored it: a Fernet token, bound to nothing)
    legacy_user = next(iter(stored))
    vault = get_vault()
    with unit_of_work() as session:
        session.execute(
            update(ApiCredential)
            .where(ApiCredential.user_id == legacy_user)
            .values(
                api_key_encrypted=vault.encrypt(stored[legacy_user][0]),
                api_secret_encrypted=vault.encrypt(stored[legacy_user][1]),
            )
        )
    before = _ciphertexts()

    # When the new key is put first, everything is rotated, and the old key is dropped
    new_key = generate_key()
    configure(monkeypatch, fernet_keys=f"{new_key},{TEST_FERNET_KEY}")
    report = rotate_all()
    configure(monkeypatch, fernet_keys=new_key)

    # Then every secret was re-sealed, bound to its owner, and opens with the new key alone
    assert (report.rewritten, report.from_fernet, report.refused) == (1 + len(OTHER_KEYS), 1, 0)
    assert _ciphertexts().isdisjoint(before)
    assert all(token.startswith("v2.") for token in _ciphertexts())
    with unit_of_work() as session:
        for user_id, (api_key, api_secret) in stored.items():
            credentials = load_credentials(session, user_id)
            assert credentials is not None
            assert credentials.api_key.get_secret_value() == api_key
            assert credentials.api_secret.get_secret_value() == api_secret
    # And the key is still shown, live orders still reach Binance signed, paper trading goes on
    assert call("api_keys_get", token=live_token).body == shown_before
    orders_before = len(binance_fake.placed_orders)
    assert _filled(live_token)["status"] == "FILLED"
    assert len(binance_fake.placed_orders) == orders_before + 1
    assert _filled(paper_token)["status"] == "FILLED"
    assert call("dashboard", token=live_token).status == 200
    assert call("dashboard", token=paper_token).status == 200
