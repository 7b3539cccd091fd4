"""The v2 envelope format with the local master key: bound to its context, refusing any change."""

from __future__ import annotations

import base64

import pytest
from tradebot.crypto.envelope import (
    LOCAL,
    PREFIX,
    DataKeyCache,
    LocalMasterKeys,
    SealBroken,
    derive_master_key,
    local_master_keys,
    parse,
    seal,
    unseal,
)
from tradebot.crypto.vault import VaultError, generate_key

from tests.support import configure

ALICE = {"user_id": "alice", "credential_id": "cred-1", "purpose": "api_secret"}
SECRET = "NhqPtmdSJYdKjVHjA7PZj4Mge3R5YNiP1e3UZjInClVN65XAbvqqM6A7H5fATj0j"


def _blob(token: str) -> bytearray:
    text = token[len(PREFIX) :]
    return bytearray(base64.urlsafe_b64decode(text + "=" * (-len(text) % 4)))


def _token(blob: bytes | bytearray) -> str:
    return PREFIX + base64.urlsafe_b64encode(bytes(blob)).rstrip(b"=").decode()


def test_a_sealed_value_opens_under_its_own_context() -> None:
    token = seal(SECRET, ALICE)

    assert token.startswith("v2.")
    assert SECRET not in token
    assert unseal(token, ALICE).get_secret_value() == SECRET
    assert parse(token).provider == LOCAL


def test_two_seals_of_one_value_differ() -> None:
    assert seal(SECRET, ALICE) != seal(SECRET, ALICE)  # a fresh data key and nonce each time


@pytest.mark.parametrize(
    "other",
    [
        {**ALICE, "user_id": "bob"},
        {**ALICE, "credential_id": "cred-2"},
        {**ALICE, "purpose": "api_key"},
        {"user_id": "alice", "credential_id": "cred-1"},
        {**ALICE, "extra": "x"},
    ],
    ids=["other-user", "other-credential", "other-purpose", "missing-key", "extra-key"],
)
def test_a_sealed_value_does_not_open_under_another_context(other: dict[str, str]) -> None:
    token = seal(SECRET, ALICE)

    with pytest.raises(SealBroken) as refused:
        unseal(token, other)

    assert SECRET not in str(refused.value)
    assert token not in str(refused.value)


def test_changing_any_byte_of_the_token_is_refused() -> None:
    token = seal(SECRET, ALICE)
    blob = _blob(token)

    for index in range(len(blob)):
        changed = bytearray(blob)
        changed[index] ^= 0x01
        with pytest.raises(VaultError):
            unseal(_token(changed), ALICE)


def test_changing_any_character_of_the_text_is_refused() -> None:
    # Base64's unused low bits included: a token has exactly one spelling.
    token = seal(SECRET, ALICE)
    body = token[len(PREFIX) :]

    for index, char in enumerate(body):
        other = "B" if char == "A" else "A"
        with pytest.raises(VaultError):
            unseal(PREFIX + body[:index] + other + body[index + 1 :], ALICE)


@pytest.mark.parametrize("cut", [1, 16, 40])
def test_a_truncated_or_extended_token_is_refused(cut: int) -> None:
    token = seal(SECRET, ALICE)

    with pytest.raises(SealBroken):
        unseal(token[:-cut], ALICE)
    with pytest.raises(SealBroken):
        unseal(_token(_blob(token) + b"\x00" * cut), ALICE)


def test_a_fernet_token_is_not_an_envelope() -> None:
    with pytest.raises(SealBroken):
        unseal("gAAAAABlegacy", ALICE)


def test_a_warm_data_key_does_not_open_a_token_under_another_context() -> None:
    # The cache is keyed by the context too: a cached key cannot let a swapped token through.
    token = seal(SECRET, ALICE)
    assert unseal(token, ALICE).get_secret_value() == SECRET  # now cached

    with pytest.raises(SealBroken):
        unseal(token, {**ALICE, "user_id": "bob"})


def test_the_newest_fernet_key_seals_and_older_ones_still_open(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    old, new = generate_key(), generate_key()
    configure(monkeypatch, fernet_keys=old)
    under_old = seal(SECRET, ALICE)

    configure(monkeypatch, fernet_keys=f"{new},{old}")
    under_new = seal(SECRET, ALICE)

    assert parse(under_new).key_id == LocalMasterKeys.key_id(derive_master_key(new))
    assert unseal(under_old, ALICE).get_secret_value() == SECRET
    configure(monkeypatch, fernet_keys=new)
    with pytest.raises(VaultError, match="no longer configured"):
        unseal(under_old, ALICE)
    assert unseal(under_new, ALICE).get_secret_value() == SECRET


def test_the_master_key_is_never_shown() -> None:
    keys = local_master_keys()

    assert repr(keys) == "LocalMasterKeys(<keys hidden>)"
    assert keys.keys[0].hex() not in parse(seal(SECRET, ALICE)).key_id


def test_the_data_key_cache_is_bounded_and_expires() -> None:
    now = [0.0]
    cache = DataKeyCache(max_entries=2, ttl_s=10, clock=lambda: now[0])
    for n in range(3):
        cache.put(("k", bytes([n]), b"ctx"), bytes([n]) * 32)

    assert cache.get(("k", b"\x00", b"ctx")) is None  # the oldest went
    assert cache.get(("k", b"\x02", b"ctx")) == b"\x02" * 32
    now[0] = 11.0
    assert cache.get(("k", b"\x02", b"ctx")) is None  # expired
