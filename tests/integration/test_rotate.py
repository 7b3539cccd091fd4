"""`make rotate`: every stored credential re-encrypted under the newest Fernet key."""

from __future__ import annotations

import pytest
from sqlalchemy import select
from tradebot.accounts.service import load_credentials
from tradebot.crypto.rotate import rotate_all
from tradebot.crypto.vault import VaultError, generate_key
from tradebot.db.engine import unit_of_work
from tradebot.db.models import ApiCredential

from tests.conftest import TEST_FERNET_KEY
from tests.fakes.binance_server import BinanceFake
from tests.support import call, configure, user_with_token

KEYS = {
    "alice@example.com": ("aliceKEY" * 4, "aliceSECRET" * 4),
    "bob@example.com": ("bobKEY" * 4, "bobSECRET" * 4),
}


@pytest.fixture
def binance(binance_fake: BinanceFake) -> BinanceFake:
    """Binance answering the key check before each key is stored: it knows these keys."""
    binance_fake.other_keys.update(dict(KEYS.values()))
    return binance_fake


def _store_keys() -> dict[str, tuple[str, str]]:
    stored = {}
    for email, (api_key, api_secret) in KEYS.items():
        user_id, token = user_with_token(email)
        body = {"api_key": api_key, "api_secret": api_secret}
        assert call("api_keys_put", token=token, body=body).status == 200
        stored[user_id] = (api_key, api_secret)
    return stored


def _decrypted(user_id: str) -> tuple[str, str]:
    with unit_of_work() as session:
        credentials = load_credentials(session, user_id)
    assert credentials is not None
    return credentials.api_key.get_secret_value(), credentials.api_secret.get_secret_value()


def _tokens() -> set[str]:
    with unit_of_work() as session:
        rows = session.execute(
            select(ApiCredential.api_key_encrypted, ApiCredential.api_secret_encrypted)
        )
        return {token for row in rows for token in row}


@pytest.mark.usefixtures("binance")
def test_rotation_lets_the_old_key_be_dropped(monkeypatch: pytest.MonkeyPatch) -> None:
    # Given credentials stored under the current key
    stored = _store_keys()
    before = _tokens()
    new_key = generate_key()

    # When the new key is put first and `make rotate` runs
    configure(monkeypatch, fernet_keys=f"{new_key},{TEST_FERNET_KEY}")
    rewritten = rotate_all()

    # Then every credential was rewritten, and the new key alone decrypts them
    assert rewritten == len(KEYS)
    assert _tokens().isdisjoint(before)
    configure(monkeypatch, fernet_keys=new_key)
    for user_id, plaintext in stored.items():
        assert _decrypted(user_id) == plaintext


@pytest.mark.usefixtures("binance")
def test_without_rotation_the_new_key_alone_cannot_decrypt(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Guards the test above: it is the rotation, not the key change, that makes it work.
    stored = _store_keys()

    configure(monkeypatch, fernet_keys=generate_key())

    with pytest.raises(VaultError):
        _decrypted(next(iter(stored)))


def test_rotation_with_nothing_stored_rewrites_nothing() -> None:
    assert rotate_all() == 0
