"""The JWT key ring: sign with the newest key (named by `kid`), verify with any key still in
the ring, refuse a `kid` that is not in it. Rotation as the README describes it."""

from __future__ import annotations

import jwt
import pytest
from pydantic import ValidationError
from tradebot.app_secrets import AppSecrets, get_app_secrets
from tradebot.auth.tokens import key_id, read_access_token

from tests.conftest import TEST_JWT_SECRET
from tests.support import assert_problem, call, configure, token_claims, user_with_token

NEW_KEY = "the-next-jwt-signing-key-" + "n" * 40


def me(token: str) -> int:
    return call("auth_me", token=token).status


def test_tokens_name_the_newest_key_by_its_kid() -> None:
    _, token = user_with_token()

    assert jwt.get_unverified_header(token)["kid"] == key_id(TEST_JWT_SECRET)
    assert len(key_id(TEST_JWT_SECRET)) == 8
    assert key_id(TEST_JWT_SECRET) not in TEST_JWT_SECRET


def test_rotation_a_token_signed_before_works_until_its_key_leaves_the_ring(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Given a token signed with the current key
    _, before = user_with_token()

    # When a new key is put in front of the ring
    configure(monkeypatch, jwt_secret=f"{NEW_KEY},{TEST_JWT_SECRET}")
    _, after = user_with_token("second@example.com")

    # Then new tokens are signed with it, and the older token still works
    assert jwt.get_unverified_header(after)["kid"] == key_id(NEW_KEY)
    assert (me(before), me(after)) == (200, 200)

    # And once the old key is dropped, only its tokens are refused
    configure(monkeypatch, jwt_secret=NEW_KEY)
    assert_problem(call("auth_me", token=before), 401)
    assert me(after) == 200


def test_a_kid_not_in_the_ring_is_refused_even_with_a_valid_signature() -> None:
    user_id, token = user_with_token()
    session_id = read_access_token(token).session_id
    claims = token_claims(user_id, sid=session_id)
    assert me(jwt.encode(claims, TEST_JWT_SECRET, headers={"kid": key_id(TEST_JWT_SECRET)})) == 200

    forged = jwt.encode(claims, TEST_JWT_SECRET, headers={"kid": "0badc0de"})

    assert_problem(call("auth_me", token=forged), 401)


def test_the_ring_is_read_newest_first_and_every_key_must_be_256_bits() -> None:
    secrets = AppSecrets.model_validate(
        {"jwt_secret": f" {NEW_KEY} , {TEST_JWT_SECRET},", "fernet_keys": "x"}
    )
    assert secrets.jwt_keys == [NEW_KEY, TEST_JWT_SECRET]
    assert get_app_secrets().jwt_keys == [TEST_JWT_SECRET]

    with pytest.raises(ValidationError) as refused:
        AppSecrets.model_validate({"jwt_secret": f"{NEW_KEY},short", "fernet_keys": "x"})
    assert "short" not in str(refused.value)
