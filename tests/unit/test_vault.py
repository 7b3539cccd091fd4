"""Fernet encryption of exchange credentials, with rotation under MultiFernet."""

from __future__ import annotations

import pytest
from cryptography.fernet import Fernet
from pydantic import SecretStr
from tradebot.crypto.vault import ExchangeCredentials, Vault, VaultError, generate_key

PLAINTEXT = "vmPUZE6mv9SD5VNHk4HlWFsOr6aKE2zvsw0MuIgwCIPy6utIco14y7Ju91duEh8A"


@pytest.fixture
def old_key() -> str:
    return generate_key()


@pytest.fixture
def new_key() -> str:
    return generate_key()


def test_a_token_decrypts_to_the_plaintext_and_does_not_contain_it(old_key: str) -> None:
    vault = Vault([old_key])

    token = vault.encrypt(PLAINTEXT)

    assert PLAINTEXT not in token
    assert vault.decrypt(token).get_secret_value() == PLAINTEXT


def test_new_tokens_use_the_first_key(old_key: str, new_key: str) -> None:
    token = Vault([new_key, old_key]).encrypt(PLAINTEXT)

    assert Fernet(new_key.encode()).decrypt(token.encode()).decode() == PLAINTEXT


def test_a_token_under_the_old_key_still_decrypts_after_a_new_key_is_added(
    old_key: str, new_key: str
) -> None:
    # Given a credential stored before the rotation began
    token = Vault([old_key]).encrypt(PLAINTEXT)

    # When the new key is put first, the old one kept after it
    vault = Vault([new_key, old_key])

    # Then the stored credential still decrypts
    assert vault.decrypt(token).get_secret_value() == PLAINTEXT


def test_rotate_re_encrypts_under_the_new_key_so_the_old_key_can_be_dropped(
    old_key: str, new_key: str
) -> None:
    token = Vault([old_key]).encrypt(PLAINTEXT)

    rotated = Vault([new_key, old_key]).rotate(token)

    assert rotated != token
    assert Vault([new_key]).decrypt(rotated).get_secret_value() == PLAINTEXT
    with pytest.raises(VaultError):
        Vault([old_key]).decrypt(rotated)


def test_a_token_under_an_unknown_key_is_a_vault_error(old_key: str, new_key: str) -> None:
    token = Vault([old_key]).encrypt(PLAINTEXT)

    with pytest.raises(VaultError):
        Vault([new_key]).decrypt(token)
    with pytest.raises(VaultError):
        Vault([new_key]).rotate(token)


def test_a_vault_error_never_carries_the_token(old_key: str, new_key: str) -> None:
    token = Vault([old_key]).encrypt(PLAINTEXT)

    with pytest.raises(VaultError) as failed:
        Vault([new_key]).decrypt(token)

    assert token not in str(failed.value)
    assert token not in repr(failed.value)
    assert token[10:40] not in str(failed.value)


def test_the_repr_of_a_vault_hides_its_keys(old_key: str, new_key: str) -> None:
    vault = Vault([new_key, old_key])

    assert new_key not in repr(vault)
    assert old_key not in repr(vault)
    assert new_key not in str(vault)


def test_decrypted_credentials_do_not_show_in_their_repr() -> None:
    credentials = ExchangeCredentials(
        api_key=SecretStr(PLAINTEXT), api_secret=SecretStr("s3cr3t" * 8), testnet=True
    )

    assert PLAINTEXT not in repr(credentials)
    assert "s3cr3t" not in repr(credentials)


def test_a_vault_needs_at_least_one_key() -> None:
    with pytest.raises(ValueError, match="at least one"):
        Vault([])
