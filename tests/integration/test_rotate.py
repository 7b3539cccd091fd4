"""`make rotate` (and the rotate_keys function): every stored credential re-sealed as a v2
envelope under the current key, bound to its owner; legacy Fernet rows migrate the same way."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select, update
from tradebot.accounts.sealing import NOT_BOUND
from tradebot.accounts.service import load_credentials
from tradebot.crypto.envelope import LocalMasterKeys, derive_master_key, parse
from tradebot.crypto.rotate import rotate_all
from tradebot.crypto.vault import VaultError, generate_key, get_vault
from tradebot.db.engine import unit_of_work
from tradebot.db.models import ApiCredential

from tests.conftest import TEST_FERNET_KEY
from tests.fakes.binance_server import BinanceFake
from tests.support import call, configure, invoke, user_with_token

KEYS = {
    "alice@example.com": ("aliceKEY" * 4, "aliceSECRET" * 4),
    "bob@example.com": ("bobKEY" * 4, "bobSECRET" * 4),
}


@pytest.fixture(autouse=True)
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


def _as_fernet(stored: dict[str, tuple[str, str]]) -> None:
    """Rewrite the rows as the code before v2 stored them: Fernet tokens, bound to nothing."""
    vault = get_vault()
    with unit_of_work() as session:
        for user_id, (api_key, api_secret) in stored.items():
            session.execute(
                update(ApiCredential)
                .where(ApiCredential.user_id == user_id)
                .values(
                    api_key_encrypted=vault.encrypt(api_key),
                    api_secret_encrypted=vault.encrypt(api_secret),
                )
            )


def _decrypted(user_id: str) -> tuple[str, str]:
    with unit_of_work() as session:
        credentials = load_credentials(session, user_id)
    assert credentials is not None
    return credentials.api_key.get_secret_value(), credentials.api_secret.get_secret_value()


def _rows() -> list[ApiCredential]:
    with unit_of_work() as session:
        return list(session.scalars(select(ApiCredential)))


def _tokens() -> set[str]:
    return {t for row in _rows() for t in (row.api_key_encrypted, row.api_secret_encrypted)}


def test_rotation_lets_the_old_key_be_dropped(monkeypatch: pytest.MonkeyPatch) -> None:
    # Given credentials sealed under the current master key
    stored = _store_keys()
    before = _tokens()
    new_key = generate_key()

    # When the new key is put first and `make rotate` runs
    configure(monkeypatch, fernet_keys=f"{new_key},{TEST_FERNET_KEY}")
    report = rotate_all()

    # Then every credential was re-sealed under the new key, and the new key alone opens them
    assert (report.credentials, report.rewritten, report.from_fernet) == (2, 2, 0)
    assert _tokens().isdisjoint(before)
    newest = LocalMasterKeys.key_id(derive_master_key(new_key))
    assert {parse(t).key_id for t in _tokens()} == {newest}
    configure(monkeypatch, fernet_keys=new_key)
    for user_id, plaintext in stored.items():
        assert _decrypted(user_id) == plaintext


def test_without_rotation_the_new_key_alone_cannot_decrypt(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Guards the test above: it is the rotation, not the key change, that makes it work.
    stored = _store_keys()

    configure(monkeypatch, fernet_keys=generate_key())

    with pytest.raises(VaultError):
        _decrypted(next(iter(stored)))


def test_fernet_rows_still_decrypt_and_rotation_binds_them_to_their_owner() -> None:
    # Given rows written before v2 (Fernet): still readable, bound to nothing
    stored = _store_keys()
    _as_fernet(stored)
    assert all(t.startswith("gAAAAA") for t in _tokens())
    for user_id, plaintext in stored.items():
        assert _decrypted(user_id) == plaintext

    # When rotated
    report = rotate_all()

    # Then they are v2 envelopes that open for their owner only
    assert (report.rewritten, report.from_fernet, report.refused) == (2, 2, 0)
    assert all(t.startswith("v2.") for t in _tokens())
    for user_id, plaintext in stored.items():
        assert _decrypted(user_id) == plaintext
    alice, bob = (row for row in _rows())
    _copy(alice, bob.user_id)
    assert _rows_by_user()[bob.user_id].invalidated_at is None
    assert rotate_all().refused == 1  # a copied v2 row is refused, not re-sealed to Bob
    assert _rows_by_user()[bob.user_id].invalid_reason == NOT_BOUND


def test_a_copied_fernet_row_is_refused_by_rotation_rather_than_bound_to_the_copier() -> None:
    # Fernet rows carry no owner; the row's plaintext hint is what gives a copy away.
    stored = _store_keys()
    _as_fernet(stored)
    alice, bob = sorted(_rows(), key=lambda row: row.api_key_hint)
    _copy(alice, bob.user_id, hint=False)

    report = rotate_all()

    assert (report.rewritten, report.refused) == (1, 1)
    refused = _rows_by_user()[bob.user_id]
    assert refused.invalid_reason == NOT_BOUND
    assert refused.api_key_encrypted.startswith("gAAAAA")  # left as it was, never re-sealed


def test_rotation_with_nothing_stored_rewrites_nothing() -> None:
    assert rotate_all().as_dict() == {
        "credentials": 0,
        "rewritten": 0,
        "from_fernet": 0,
        "refused": 0,
        "second_factors": 0,
    }


def test_totp_secrets_are_re_sealed_so_dropping_the_old_key_keeps_2fa_working(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Given a user with 2FA on, its secret sealed under the old local master key
    from tradebot.twofactor import service as two_factor
    from tradebot.twofactor import totp

    user_id, token = user_with_token("2fa@example.com")
    secret = totp.decode_secret(call("twofa_start", token=token).body["secret"])
    now = totp.step_at(__import__("time").time())
    confirm = call("twofa_confirm", token=token, body={"otp": totp.code_at(secret, now)})
    assert confirm.status == 200

    # When a new key is put first, everything rotated, and the old key dropped
    new_key = generate_key()
    configure(monkeypatch, fernet_keys=f"{new_key},{TEST_FERNET_KEY}")
    assert rotate_all().second_factors == 1
    configure(monkeypatch, fernet_keys=new_key)

    # Then the secret still opens, and the user's next code is accepted
    with unit_of_work() as session:
        assert two_factor.accept_code(session, user_id, totp.code_at(secret, now + 1)) == "totp"


def test_the_rotate_keys_function_runs_its_sample_event_and_reports_counts() -> None:
    import json
    from pathlib import Path

    stored = _store_keys()
    _as_fernet(stored)
    event: Any = json.loads(Path("events/rotate_keys.json").read_text())

    result = invoke("rotate_keys", event)

    assert result == {
        "credentials": 2,
        "rewritten": 2,
        "from_fernet": 2,
        "refused": 0,
        "second_factors": 0,
    }
    assert all(t.startswith("v2.") for t in _tokens())


def _rows_by_user() -> dict[str, ApiCredential]:
    return {row.user_id: row for row in _rows()}


def _copy(source: ApiCredential, target_user: str, hint: bool = True) -> None:
    values: dict[str, str] = {
        "api_key_encrypted": source.api_key_encrypted,
        "api_secret_encrypted": source.api_secret_encrypted,
    }
    if hint:
        values["api_key_hint"] = source.api_key_hint
    with unit_of_work() as session:
        session.execute(
            update(ApiCredential).where(ApiCredential.user_id == target_user).values(values)
        )
